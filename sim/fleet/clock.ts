/**
 * The fleet's clock: when customers arrive and when events fire. Injectable,
 * so a test can run the schedule on its own time; the default is the wall
 * clock. (The gateway and the hosts keep their own timers: their waits are
 * real, bounded milliseconds.)
 */
export interface FleetClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const wallClock: FleetClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A seeded byte source for the phones' per-tap UIDs, so a replay draws the same ones. */
export function seededBytes(random: () => number): (size: number) => Uint8Array {
  return (size) => Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
}
