/** Cards, one per response code, and authorization requests for the issuer host and the gateway's card tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from 'pino';
import { luhnCheckDigit } from '../../../protocol/card-data.ts';
import type { CardData } from '../../../protocol/card-data.ts';
import { uuidv7 } from '../../../protocol/index.ts';
import { ensureIssuerSecrets, loadIssuerSecrets, startIssuerHost } from '../../../settlement-core/cards/index.ts';
import type { AddCardInput, AuthorizationRequest, CardStore, IssuerHost } from '../../../settlement-core/cards/index.ts';

export const pepper = Buffer.alloc(32, 0x5a);
export const acquirerToken = 'acquirer-token-for-tests-0123456789';
/** 1 June 2025, UTC: cards expiring 2505 are still good, 2504 has passed. */
export const now = Date.UTC(2025, 5, 1, 12);
export const clock = (): number => now;

/** A Luhn-valid 16-digit PAN from a 15-digit body. */
export const panOf = (body15: string): string => `${body15}${luhnCheckDigit(body15)}`;

export const cards = {
  good: panOf('424242424242424'),
  pin: panOf('555555555555444'),
  expired: panOf('400005665566555'),
  blocked: panOf('400000000000000'),
  restricted: panOf('400000000000003'),
  grocery: panOf('400000000000006'),
  poor: panOf('400000000000009'),
  unknown: panOf('499999999999999'),
} as const;
export const badLuhn = `${cards.good.slice(0, 15)}${(Number(cards.good[15]) + 1) % 10}`;

const base = { expiry: '2712', cvv: '123', currency: 'EUR', authLimitMinor: 50_000, openToBuyMinor: 100_000 } as const;

export const cardSetup: AddCardInput[] = [
  { ...base, pan: cards.good },
  { ...base, pan: cards.pin, pin: '2468', pinAboveMinor: 5_000 },
  { ...base, pan: cards.expired, expiry: '2504' },
  { ...base, pan: cards.blocked, status: 'blocked' },
  { ...base, pan: cards.restricted, status: 'restricted' },
  { ...base, pan: cards.grocery, permittedMccs: ['5411'] },
  { ...base, pan: cards.poor, openToBuyMinor: 1_000 },
];

export function addCards(store: CardStore): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const c of cardSetup) tokens.set(c.pan, store.addCard(c).token);
  return tokens;
}

export const cardData = (pan: string, o: Partial<CardData> = {}): CardData => ({ pan, expiry: cardSetup.find((c) => c.pan === pan)?.expiry ?? '2712', cvv: '123', ...o });

export interface RequestOptions {
  card?: Partial<CardData>;
  pin?: string;
  minor?: number;
  currency?: string;
  mcc?: string;
  id?: string;
}

export function authRequest(pan: string, o: RequestOptions = {}): AuthorizationRequest {
  return {
    v: 1, authorizationId: o.id ?? uuidv7(now), card: cardData(pan, o.card), ...(o.pin !== undefined ? { pin: o.pin } : {}),
    amount: { minor: o.minor ?? 1_250, currency: o.currency ?? 'EUR' }, merchant: '001-0000042', mcc: o.mcc ?? '5814',
  };
}

/**
 * One request per issuer response code, against the cards above (91 and 96
 * are the gateway's and the failing store's, tested where they happen).
 */
export const codeCases: { code: string; why: string; pan: string; o?: RequestOptions }[] = [
  { code: '00', why: 'a good card within its limits', pan: cards.good },
  { code: '05', why: 'a wrong CVV', pan: cards.good, o: { card: { cvv: '999' } } },
  { code: '05', why: 'a blocked card', pan: cards.blocked },
  { code: '14', why: 'a number failing Luhn', pan: badLuhn },
  { code: '14', why: 'a number the issuer does not know', pan: cards.unknown },
  { code: '51', why: 'more than the open-to-buy', pan: cards.poor, o: { minor: 1_001 } },
  { code: '54', why: 'a card past its expiry month', pan: cards.expired },
  { code: '55', why: 'a wrong PIN', pan: cards.pin, o: { pin: '1111', minor: 6_000 } },
  { code: '55', why: 'no PIN above the card\'s PIN threshold', pan: cards.pin, o: { minor: 6_000 } },
  { code: '57', why: 'a merchant category the card is not for', pan: cards.grocery, o: { mcc: '7995' } },
  { code: '57', why: 'another currency than the card\'s', pan: cards.good, o: { currency: 'USD' } },
  { code: '61', why: 'more than the card\'s single-authorization limit', pan: cards.good, o: { minor: 50_001 } },
  { code: '62', why: 'a restricted card', pan: cards.restricted },
];

export function tempDir(prefix = 'tapsettle-cards-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A pino logger at trace level whose every line is kept, to search for card data. */
export function capturingLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, sink), text: () => lines.join('') };
}

/** Every byte of a SQLite database: the file, its WAL and shared memory. */
export async function databaseBytes(path: string): Promise<Buffer> {
  const { existsSync, readFileSync } = await import('node:fs');
  return Buffer.concat([path, `${path}-wal`, `${path}-shm`].filter((p) => existsSync(p)).map((p) => readFileSync(p)));
}

/** The PAN as it could leak: all its digits, or all but the last four (which may be shown). */
export const panForms = (pan: string): string[] => [pan, pan.slice(0, -4)];

/** An issuer host on 127.0.0.1 with its secrets file and the test cards in `dir`: what a gateway's `cards:` section points at. */
export async function startTestIssuer(dir: string): Promise<{ issuer: IssuerHost; secretsFile: string }> {
  const secretsFile = join(dir, 'issuer-secrets.json');
  ensureIssuerSecrets(secretsFile);
  const secrets = loadIssuerSecrets(secretsFile);
  const issuer = await startIssuerHost({ dbPath: join(dir, 'issuer.db'), pepper: secrets.pepper, acquirerToken: secrets.acquirerToken, port: 0, host: '127.0.0.1' });
  addCards(issuer.store);
  return { issuer, secretsFile };
}
