import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { topics, uuidv7 } from '../../protocol/index.ts';
import { DeviceConfigError, parseDeviceConfigFile, placeDeviceConfig, publishDeviceConfigs } from '../../gateway/device-configs.ts';
import type { ConfigBroker } from '../../gateway/device-configs.ts';
import { tempDir } from '../settlement-core/fixtures.ts';

const config = (version: number) => ({
  v: 1, type: 'config', requestId: uuidv7(), sentAt: 1, deviceId: 'vending-1', version, merchant: '500-0000001',
  catalog: [{ slot: 'A1', article: 'cola-330', name: 'Cola 330 ml', price: { minor: 250, currency: 'EUR' } }],
  denyList: [],
});

class RetainingBroker implements ConfigBroker {
  readonly store = new Map<string, Buffer>();
  publishes = 0;
  publish(topic: string, payload: string | Buffer, o: { retain: boolean }): Promise<void> {
    this.publishes += 1;
    if (o.retain) this.store.set(topic, Buffer.from(payload));
    return Promise.resolve();
  }
  retained(topic: string): Promise<Buffer | null> {
    return Promise.resolve(this.store.get(topic) ?? null);
  }
}
const quiet = { info: () => undefined, warn: () => undefined };

describe('device configs', () => {
  it('places a valid config, refuses a version not above the stored one, publishes only newer versions, retained', async () => {
    const t = tempDir();
    try {
      const dir = join(t.dir, 'device-configs');
      const file = join(t.dir, 'in.yaml');
      writeFileSync(file, JSON.stringify(config(3)));
      placeDeviceConfig(dir, parseDeviceConfigFile(file));
      expect(() => placeDeviceConfig(dir, { ...parseDeviceConfigFile(file), version: 3 })).toThrow(/already has config version 3/);
      const broker = new RetainingBroker();
      expect(await publishDeviceConfigs(dir, broker, quiet)).toBe(1);
      expect(JSON.parse(broker.store.get(topics.config('vending-1'))!.toString())).toMatchObject({ version: 3 });
      expect(await publishDeviceConfigs(dir, broker, quiet)).toBe(0);
      placeDeviceConfig(dir, { ...parseDeviceConfigFile(file), version: 4 });
      expect(await publishDeviceConfigs(dir, broker, quiet)).toBe(1);
      expect(await publishDeviceConfigs(join(t.dir, 'missing'), broker, quiet)).toBe(0);
    } finally {
      t.cleanup();
    }
  });

  it('refuses bad files with a coded error naming the problem, and skips them when publishing', async () => {
    const t = tempDir();
    try {
      const bad: [string, RegExp][] = [
        ['{ "v": 1, "type": "config"', /not valid YAML or JSON/],
        [JSON.stringify({ ...config(1), surprise: 1 }), /unknown-field/],
        [JSON.stringify({ ...config(0) }), /invalid-request/],
        [JSON.stringify({ ...config(1), catalog: [{ article: 'x', name: 'x', price: { minor: 1.5, currency: 'EUR' } }] }), /invalid-amount/],
      ];
      for (const [i, [body, message]] of bad.entries()) {
        const file = join(t.dir, `bad-${i}.json`);
        writeFileSync(file, body);
        expect(() => parseDeviceConfigFile(file)).toThrow(DeviceConfigError);
        expect(() => parseDeviceConfigFile(file)).toThrow(message);
      }
      const broker = new RetainingBroker();
      expect(await publishDeviceConfigs(t.dir, broker, quiet)).toBe(0);
      expect(broker.publishes).toBe(0);
    } finally {
      t.cleanup();
    }
  });
});
