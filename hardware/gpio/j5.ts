/**
 * The slice of johnny-five 2.1 we use, typed as it really behaves.
 *
 * Why our own types instead of @types/johnny-five: they are wrong or missing
 * exactly where we lean on them — Relay exposes `isClosed` (typed `isOn`),
 * Board takes a `sigint` option (untyped) and keeps its connect timer in
 * `timer` and every board in `Board.cache` (both untyped), `io`/`port` are
 * `any`. One checked cast at the module boundary (loadJohnnyFive) is the only
 * place the two meet.
 *
 * johnny-five is loaded lazily: a host without any GPIO part never pays for it,
 * and it requires firmata (and serialport 8 under it) only when a board is
 * opened on a serial port.
 */

/** What j5 accepts as an IO plugin: anything that follows the IO plugin contract. */
export interface IoPluginLike {
  readonly name: string;
  readonly isReady: boolean;
  readonly MODES: { readonly INPUT: number; readonly OUTPUT: number };
  pinMode(pin: number, mode: number): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface J5BoardOptions {
  io?: IoPluginLike;
  /** A path, or an open serial port object (anything firmata can use as a transport). */
  port?: string | object;
  repl: false;
  debug: false;
  /** false: j5 must not install its own SIGINT handler that calls process.reallyExit. */
  sigint: false;
  /** How long j5 waits after 'connect' for 'ready' before it reports an error. */
  timeout: number;
}

export interface J5Board {
  readonly isReady: boolean;
  readonly io: IoPluginLike;
  /** j5's connect watchdog; cleared on 'ready', must be cleared by hand when we give up. */
  timer: NodeJS.Timeout | null;
  on(event: 'ready' | 'close' | 'connect', listener: () => void): this;
  on(event: 'error' | 'fail' | 'warn', listener: (event: unknown) => void): this;
  removeAllListeners(): this;
}

export interface J5Relay {
  readonly isClosed: boolean;
  open(): unknown;
  close(): unknown;
}

export interface J5Switch {
  /** True when the raw level equals closeValue: with invert:false, the pin reads 1. */
  readonly isClosed: boolean;
  on(event: 'open' | 'close', listener: () => void): this;
  removeAllListeners(): this;
}

export interface J5Led {
  readonly isOn: boolean;
  on(): unknown;
  off(): unknown;
  blink(ms: number): unknown;
  stop(): unknown;
}

export interface JohnnyFive {
  Board: (new (options: J5BoardOptions) => J5Board) & { readonly cache: J5Board[] };
  Relay: new (options: { pin: number; type: 'NO' | 'NC'; board: J5Board }) => J5Relay;
  Switch: new (options: { pin: number; type: 'NO' | 'NC'; invert: boolean; board: J5Board }) => J5Switch;
  Led: new (options: { pin: number; board: J5Board }) => J5Led;
}

let loaded: Promise<JohnnyFive> | null = null;

export function loadJohnnyFive(): Promise<JohnnyFive> {
  loaded ??= import('johnny-five').then((module) => {
    const five: unknown = module.default;
    if (!isJohnnyFive(five)) throw new Error('johnny-five did not export Board, Relay, Switch and Led');
    return five;
  });
  return loaded;
}

function isJohnnyFive(value: unknown): value is JohnnyFive {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  const board = record['Board'];
  return typeof board === 'function' && Array.isArray((board as unknown as { cache: unknown }).cache)
    && typeof record['Relay'] === 'function' && typeof record['Switch'] === 'function' && typeof record['Led'] === 'function';
}

/** j5 keeps every board ever made in a module-level array; take ours out when it closes so it can be collected. */
export function forgetBoard(five: JohnnyFive, board: J5Board): void {
  const index = five.Board.cache.indexOf(board);
  if (index >= 0) five.Board.cache.splice(index, 1);
}

/**
 * firmata.js asks an Arduino for its version after 5 s of silence, on a timer
 * kept on the IO object and cleared only by an answer. When we give up on a
 * board, clear it, or it fires later and writes to a closed port.
 */
export function clearFirmataHandshake(board: J5Board): void {
  const io: unknown = board.io;
  if (typeof io !== 'object' || io === null || !('reportVersionTimeoutId' in io)) return;
  const timer = io.reportVersionTimeoutId;
  if (typeof timer === 'object' && timer !== null) clearTimeout(timer as NodeJS.Timeout);
}
