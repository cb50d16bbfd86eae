/**
 * The card route as an operator runs it: `cards:` in the gateway config
 * (issuer URL + the issuer host's secrets file) and startGateway wires the
 * card processing apparatus into the wallet API. A demo wallet pays with a
 * card through the running gateway and the issuer host answers 00; without
 * `cards:` the route does not exist.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../../gateway/config.ts';
import { startGateway } from '../../../gateway/gateway.ts';
import type { RunningGateway } from '../../../gateway/gateway.ts';
import type { IssuerHost } from '../../../settlement-core/cards/index.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { call, signed } from '../http/harness.ts';
import { cardData, cards, startTestIssuer } from '../../settlement-core/cards/fixtures.ts';

let t: ReturnType<typeof tempDir>;
let issuer: IssuerHost;
let gw: RunningGateway;
let bare: RunningGateway;
let wallet: TestWallet;

beforeAll(async () => {
  t = tempDir('tapsettle-gw-card-wiring-');
  const started = await startTestIssuer(t.dir);
  issuer = started.issuer;
  const { secretsFile } = started;
  const keys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32) };
  gw = await startGateway(parseGatewayConfig({ data: join(t.dir, 'gw'), mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' }, cards: { issuerUrl: issuer.url, secretsFile } }), keys);
  bare = await startGateway(parseGatewayConfig({ data: join(t.dir, 'bare'), mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' } }), keys);
  const ada = gw.demo!.wallets[0]!;
  wallet = { walletId: ada.walletId, walletKey: Buffer.from(ada.walletKey, 'base64'), account: ada.account, counter: 0 };
});
afterAll(async () => {
  await gw.close();
  await bare.close();
  await issuer.close();
  t.cleanup();
});

const body = (id: string) => JSON.stringify({ authorizationId: id, card: cardData(cards.good), amount: { minor: 990, currency: 'EUR' }, merchant: gw.demo!.merchant, mcc: '5814' });

describe('gateway config cards:', () => {
  it('wires the card processing apparatus: a demo wallet pays by card and the issuer approves', async () => {
    const path = `/v1/wallets/${wallet.walletId}/card-authorizations`;
    const r = await call(signed(gw.urls.http, wallet, 'POST', path, { body: body('01937a4e-0000-7000-8000-00000000c001') }));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ responseCode: '00', approved: true, card: { last4: cards.good.slice(-4) } });
    expect(r.text).not.toContain(cards.good);
  });

  it('without cards: in the config there is no card route (a coded 404)', async () => {
    const path = `/v1/wallets/${wallet.walletId}/card-authorizations`;
    const r = await call(signed(bare.urls.http, wallet, 'POST', path, { body: body('01937a4e-0000-7000-8000-00000000c002') }));
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ error: { code: 'TS_ERR_NOT_FOUND' } });
  });

  it('a bad cards: section is a config error naming the key', () => {
    expect(() => parseGatewayConfig({ cards: { issuerUrl: 'ftp://x', secretsFile: 'f' } })).toThrow(/cards\.issuerUrl/);
  });
});
