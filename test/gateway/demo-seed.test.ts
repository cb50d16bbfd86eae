import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seedDemo } from '../../gateway/demo-seed.ts';
import type { DemoCredentials } from '../../gateway/demo-seed.ts';
import { openCore, tempDir } from '../settlement-core/fixtures.ts';

describe('demo seed', () => {
  it('seeds once: a merchant, one device of each kind, five wallets, credentials readable by the owner only', async () => {
    const t = tempDir();
    const core = await openCore(join(t.dir, 'ledger.db'));
    try {
      const added: string[] = [];
      const registry = { add: (d: { id: string }) => { added.push(d.id); return { secret: `secret-${d.id}` }; } };
      const path = join(t.dir, 'demo-credentials.json');
      const creds = await seedDemo(core, registry, 'EUR', path);
      expect(creds?.devices.map((d) => d.kind).sort()).toEqual(['gate', 'gate', 'kiosk', 'pos', 'vending']);
      expect(added).toHaveLength(5);
      expect(creds?.wallets).toHaveLength(5);
      for (const w of creds!.wallets) expect((await core.store.getAccount(w.account))?.balance).toBe(w.balance);
      expect((await core.store.getDevice('gate-exit-1'))?.merchant).toBe(creds!.merchant);
      expect(JSON.parse(readFileSync(path, 'utf8')) as DemoCredentials).toEqual(creds);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(await seedDemo(core, registry, 'EUR', path)).toBeNull();
      expect((await core.audit()).ok).toBe(true);
    } finally {
      await core.close();
      t.cleanup();
    }
  });
});
