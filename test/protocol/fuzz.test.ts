/**
 * decodeMessage is the first code that touches bytes from the network. Whatever
 * arrives, it must return — never throw — either a value that parses again or
 * a refusal with a stable reason code. On failure fast-check prints the seed
 * and path; replay with `fc.assert(…, { seed, path })`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SettleRequest, decodeMessage, parseMessage, reasonCodes, uuidV7Pattern } from '../../protocol/index.ts';
import type { Decoded } from '../../protocol/index.ts';
import { anyString, settleRequest } from './fixtures.ts';

const knownReasons: ReadonlySet<string> = new Set(reasonCodes);
type DecodedSettle = Decoded<SettleRequest>;

/** The requestId a refusal must carry for this body: the body's own, if it is a readable UUIDv7. */
function readableRequestId(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'requestId')) return null;
  const id: unknown = (body as Record<string, unknown>).requestId;
  return typeof id === 'string' && uuidV7Pattern.test(id) ? id : null;
}

/** The invariant of every decode: a value that re-parses, or a known reason with a well-formed requestId. */
function wellFormed(result: DecodedSettle): boolean {
  if (result.ok) {
    if (!SettleRequest.safeParse(result.value).success) return false;
    const again = decodeMessage('settle', JSON.stringify(result.value));
    return again.ok && JSON.stringify(again.value) === JSON.stringify(result.value);
  }
  return knownReasons.has(result.reason)
    && typeof result.message === 'string'
    && (result.requestId === null || uuidV7Pattern.test(result.requestId));
}

/** Decodes a JSON text and checks, beyond wellFormed, that a refusal carries exactly the readable requestId. */
function decodeText(text: string): DecodedSettle {
  const result = decodeMessage('settle', text);
  if (!wellFormed(result)) throw new Error(`not well formed: ${JSON.stringify(result)}`);
  if (!result.ok && result.reason !== 'payload-too-large' && result.reason !== 'malformed-json') {
    const expected = readableRequestId(JSON.parse(text));
    if (result.requestId !== expected) throw new Error(`refusal carries requestId ${result.requestId}, body has ${expected}`);
  }
  return result;
}

// ---- mutations of a valid request -----------------------------------------

type Path = readonly (string | number)[];
const base = settleRequest();

function collectPaths(node: unknown, prefix: Path, out: Path[]): Path[] {
  out.push(prefix);
  if (Array.isArray(node)) node.forEach((child, i) => collectPaths(child, [...prefix, i], out));
  else if (typeof node === 'object' && node !== null) for (const [key, child] of Object.entries(node)) collectPaths(child, [...prefix, key], out);
  return out;
}

const allPaths = collectPaths(base, [], []);
const keyPaths = allPaths.filter((p) => typeof p.at(-1) === 'string');
const objectPaths = allPaths.filter((p) => { const n = at(base, p); return typeof n === 'object' && n !== null && !Array.isArray(n); });
/** The optional fields of the fixture: dropping one alone leaves a valid request. */
const optionalKeys = new Set(['seq', 'restrictions', 'outcomeDeadlineSec', 'restrictions.coolingOffSec', 'restrictions.eligibility', 'restrictions.eligibility.minAgeYears', 'restrictions.eligibility.membershipsAny']);

function at(root: unknown, path: Path): unknown {
  let node = root;
  for (const step of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, step)) return undefined;
    node = (node as Record<string | number, unknown>)[step];
  }
  return node;
}

type Mutation =
  | { op: 'drop'; path: Path }
  | { op: 'add'; path: Path; key: string; value: unknown }
  | { op: 'replace'; path: Path; value: unknown };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), path: fc.constantFrom(...keyPaths) }),
  fc.record({
    op: fc.constant('add' as const),
    path: fc.constantFrom(...objectPaths),
    key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'v', 'requestId', 'minor', 'walletId')),
    value: fc.anything(),
  }),
  fc.record({ op: fc.constant('replace' as const), path: fc.constantFrom(...allPaths), value: fc.anything() }),
);

function mutate(body: unknown, m: Mutation): unknown {
  if (m.path.length === 0 && m.op === 'replace') return m.value;
  const parentPath = m.op === 'add' ? m.path : m.path.slice(0, -1);
  const parent = at(body, parentPath);
  if (typeof parent !== 'object' || parent === null) return body;
  const target = parent as Record<string | number, unknown>;
  if (m.op === 'drop') delete target[m.path.at(-1)!];
  else {
    const key = m.op === 'add' ? m.key : m.path.at(-1)!;
    // defineProperty, so "__proto__" becomes an own key as JSON.parse would make it.
    Object.defineProperty(target, key, { value: m.value, enumerable: true, writable: true, configurable: true });
  }
  return body;
}

const runs = { strings: 3000, tokens: 2500, bytes: 2500, json: 3000, anything: 3000, single: 5000, chains: 2500 };

describe('decodeMessage("settle", …) under fuzzing', () => {
  it(`never throws on ${runs.strings} arbitrary strings`, () => {
    fc.assert(fc.property(anyString(400), (text) => wellFormed(decodeMessage('settle', text))), { numRuns: runs.strings });
  });

  it(`never throws on ${runs.tokens} strings of JSON tokens`, () => {
    const token = fc.constantFrom('{', '}', '[', ']', ':', ',', '"', '"v"', '1', '-0', '1e400', '0.5', 'null', 'true', '"requestId"', `"${base.requestId}"`, '"settle"', '\\u0000', '"__proto__"', ' ');
    fc.assert(fc.property(fc.array(token, { maxLength: 60 }).map((t) => t.join('')), (text) => wellFormed(decodeMessage('settle', text))), { numRuns: runs.tokens });
  });

  it(`never throws on ${runs.bytes} arbitrary byte arrays`, () => {
    // A few bodies around the 4 KiB limit; fast-check builds large arrays byte by byte, so keep them rare.
    const bytes = fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 400 }), weight: 20 }, { arbitrary: fc.uint8Array({ minLength: 4000, maxLength: 4200 }), weight: 1 });
    fc.assert(fc.property(bytes, (payload) => wellFormed(decodeMessage('settle', payload))), { numRuns: runs.bytes });
  });

  it(`never throws on ${runs.json} arbitrary JSON documents`, () => {
    fc.assert(fc.property(fc.json({ maxDepth: 4 }), (text) => { decodeText(text); return true; }), { numRuns: runs.json });
  });

  it(`never throws on ${runs.anything} arbitrary values, parsed directly or sent as JSON`, () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }), (value) => {
        if (!wellFormed(parseMessage('settle', value))) return false;
        const text = JSON.stringify(value) as string | undefined;
        return text === undefined ? wellFormed(decodeMessage('settle', 'undefined')) : decodeText(text) !== undefined;
      }),
      { numRuns: runs.anything },
    );
  });

  it(`${runs.single} single mutations of a valid request: added keys are unknown-field, dropped keys fail unless optional`, () => {
    expect(decodeText(JSON.stringify(base)).ok).toBe(true);
    fc.assert(
      fc.property(mutationArb, (m) => {
        const existed = m.op === 'add' && Object.hasOwn(at(base, m.path) as object, m.key);
        const text = JSON.stringify(mutate(structuredClone(base), m)) as string | undefined;
        if (text === undefined) return wellFormed(decodeMessage('settle', 'undefined'));
        const result = decodeText(text);
        if (m.op === 'drop') return result.ok === optionalKeys.has(m.path.join('.'));
        if (m.op === 'add' && !existed && JSON.stringify(m.value) !== undefined) return !result.ok && result.reason === 'unknown-field';
        return true;
      }),
      { numRuns: runs.single },
    );
  });

  it(`${runs.chains} chains of up to five mutations never throw`, () => {
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 5 }), (ms) => {
        let body: unknown = structuredClone(base);
        for (const m of ms) body = mutate(body, m);
        const text = JSON.stringify(body) as string | undefined;
        return text === undefined ? wellFormed(decodeMessage('settle', 'undefined')) : decodeText(text) !== undefined;
      }),
      { numRuns: runs.chains },
    );
  });

  it('runs at least 20,000 cases in all', () => {
    expect(Object.values(runs).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(20_000);
  });
});
