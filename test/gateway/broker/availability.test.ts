/**
 * The availability view on its own: a state message that arrives after the
 * disconnect of the connection that sent it (with Redis every publish makes
 * a round trip, a disconnect is seen at once) must not bring the device back
 * online; a newer message or a new connection does.
 */
import { expect, it } from 'vitest';
import { uuidv7 } from '../../../protocol/index.ts';
import { AvailabilityView } from '../../../gateway/broker/availability.ts';

const state = (status: 'online' | 'offline' | 'out-of-service', sentAt: number) =>
  Buffer.from(JSON.stringify({ v: 1, type: 'state', requestId: uuidv7(sentAt), sentAt, deviceId: 'gate-1', status }));

it('a late state message from before the disconnect keeps the device offline; a newer one or a reconnect brings it back', () => {
  let now = 1_000;
  const view = new AvailabilityView(16, () => now);
  view.connected('gate-1');
  const early = state('online', 1_000);
  now = 2_000;
  view.disconnected('gate-1');
  now = 2_500;
  view.stateMessage('gate-1', early);
  expect(view.snapshot().get('gate-1')).toMatchObject({ status: 'offline', since: 2_000, state: { status: 'online', sentAt: 1_000 } });
  view.stateMessage('gate-1', state('out-of-service', 2_400));
  expect(view.snapshot().get('gate-1')).toMatchObject({ status: 'online', since: 2_500, state: { status: 'out-of-service' } });
  now = 3_000;
  view.disconnected('gate-1');
  view.connected('gate-1');
  view.stateMessage('gate-1', state('online', 1_500));
  expect(view.snapshot().get('gate-1')).toMatchObject({ status: 'online', state: { sentAt: 1_500 } });
});

it('a state message for a device this node never saw connected counts as it says (the device is on another node)', () => {
  const view = new AvailabilityView(16, () => 5_000);
  view.stateMessage('gate-1', state('online', 1));
  expect(view.snapshot().get('gate-1')).toMatchObject({ status: 'online' });
  view.stateMessage('gate-1', state('offline', 2));
  expect(view.snapshot().get('gate-1')).toMatchObject({ status: 'offline' });
});
