/**
 * `npm run protocol:schema`: writes the JSON Schema of every message and
 * signed document under docs/protocol/, for devices not written in TypeScript.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { cardMessageSchemas } from './card-messages.ts';
import { Admission, EmoneyToken, Ticket } from './documents.ts';
import { messageSchemas } from './messages.ts';

export function jsonSchemas(): Record<string, unknown> {
  const all: Record<string, z.ZodType> = { ...messageSchemas, ...cardMessageSchemas, ticket: Ticket, admission: Admission, 'emoney-token': EmoneyToken };
  return Object.fromEntries(Object.entries(all).map(([name, schema]) => [name, { $id: `https://tapsettle.dev/protocol/v1/${name}.schema.json`, ...z.toJSONSchema(schema) }]));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = join(import.meta.dirname, '..', 'docs', 'protocol');
  mkdirSync(dir, { recursive: true });
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    writeFileSync(join(dir, `${name}.schema.json`), `${JSON.stringify(schema, null, 2)}\n`);
    console.log(`wrote docs/protocol/${name}.schema.json`);
  }
}
