import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageSchemas } from '../../protocol/index.ts';
import { cardMessageSchemas } from '../../protocol/card-messages.ts';
import { jsonSchemas } from '../../protocol/write-json-schema.ts';

const docsDir = join(import.meta.dirname, '..', '..', 'docs', 'protocol');
const schemas = jsonSchemas();
const expectedNames = [...Object.keys(messageSchemas), ...Object.keys(cardMessageSchemas), 'ticket', 'admission', 'emoney-token'];

describe('JSON Schema export', () => {
  it('has one schema per message type and per signed document', () => {
    expect(Object.keys(schemas).sort()).toEqual([...expectedNames].sort());
  });

  it.each(expectedNames)('%s is a closed object schema with an $id', (name) => {
    const schema = schemas[name] as Record<string, unknown>;
    expect(schema.$id).toBe(`https://tapsettle.dev/protocol/v1/${name}.schema.json`);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Array.isArray(schema.required)).toBe(true);
  });

  it('every nested object schema is closed too', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (Array.isArray(node)) { node.forEach((child, i) => walk(child, `${path}/${i}`)); return; }
      if (typeof node !== 'object' || node === null) return;
      const record = node as Record<string, unknown>;
      if (record.type === 'object' && record.additionalProperties !== false) open.push(path);
      for (const [key, child] of Object.entries(record)) walk(child, `${path}/${key}`);
    };
    for (const [name, schema] of Object.entries(schemas)) walk(schema, name);
    expect(open).toEqual([]);
  });

  it('the committed files in docs/protocol/ are up to date (run `npm run protocol:schema` after a schema change)', () => {
    const files = readdirSync(docsDir).filter((f) => f.endsWith('.schema.json')).sort();
    expect(files).toEqual(expectedNames.map((n) => `${n}.schema.json`).sort());
    for (const [name, schema] of Object.entries(schemas)) {
      const committed = readFileSync(join(docsDir, `${name}.schema.json`), 'utf8');
      expect(committed, `docs/protocol/${name}.schema.json is stale: run npm run protocol:schema`).toBe(`${JSON.stringify(schema, null, 2)}\n`);
    }
  });
});
