/**
 * HID keyboard usage ids (USB HID Usage Tables, page 0x07) to characters, for
 * a US keyboard layout: scanners and keypads are configured for "USB
 * keyboard, US" (docs/hardware.md), since a layout the host does not know
 * would silently change symbols.
 */

export const usageEnter = 0x28;
export const usageEscape = 0x29;
export const usageBackspace = 0x2a;
export const usageKeypadEnter = 0x58;
/** 0x01..0x03: ErrorRollOver, POSTFail, ErrorUndefined — a phantom report, not a key. */
export const usageErrorMax = 0x03;
/** 0xE0..0xE7 are the modifier keys; boot reports carry them in byte 0, some devices list them again. */
export const usageModifierMin = 0xe0;
export const usageModifierMax = 0xe7;

/** Modifier byte bits: left and right Shift; Ctrl, Alt and GUI on either side. */
export const modifierShiftMask = 0x02 | 0x20;
export const modifierOtherMask = 0x01 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;

const symbolRow: readonly (readonly [number, string, string])[] = [
  [0x2c, ' ', ' '], [0x2d, '-', '_'], [0x2e, '=', '+'], [0x2f, '[', '{'], [0x30, ']', '}'],
  [0x31, '\\', '|'], [0x33, ';', ':'], [0x34, "'", '"'], [0x35, '`', '~'], [0x36, ',', '<'],
  [0x37, '.', '>'], [0x38, '/', '?'],
];
const keypad: readonly (readonly [number, string])[] = [
  [0x54, '/'], [0x55, '*'], [0x56, '-'], [0x57, '+'], [0x59, '1'], [0x5a, '2'], [0x5b, '3'],
  [0x5c, '4'], [0x5d, '5'], [0x5e, '6'], [0x5f, '7'], [0x60, '8'], [0x61, '9'], [0x62, '0'], [0x63, '.'],
];

/** usage → [unshifted, shifted]. Keypad keys ignore Shift (Num Lock on). */
const table = new Map<number, readonly [string, string]>();
for (let i = 0; i < 26; i += 1) {
  const letter = String.fromCharCode(0x61 + i);
  table.set(0x04 + i, [letter, letter.toUpperCase()]);
}
'1234567890'.split('').forEach((digit, i) => table.set(0x1e + i, [digit, '!@#$%^&*()'[i] ?? digit]));
for (const [usage, plain, shifted] of symbolRow) table.set(usage, [plain, shifted]);
for (const [usage, char] of keypad) table.set(usage, [char, char]);

export function usageToChar(usage: number, shift: boolean): string | undefined {
  const chars = table.get(usage);
  return chars === undefined ? undefined : chars[shift ? 1 : 0];
}

export interface KeyStroke {
  usage: number;
  shift: boolean;
}

/** char → the main-block key that types it (the keypad is never preferred). For the simulator's encoder. */
const strokes = new Map<string, KeyStroke>();
for (const [usage, [plain, shifted]] of table) {
  if (usage >= 0x54) continue;
  if (!strokes.has(plain)) strokes.set(plain, { usage, shift: false });
  if (!strokes.has(shifted)) strokes.set(shifted, { usage, shift: true });
}
const keypadStrokes = new Map<string, KeyStroke>(keypad.map(([usage, char]) => [char, { usage, shift: false }]));

export function charToKeyStroke(char: string, preferKeypad = false): KeyStroke | undefined {
  return (preferKeypad ? keypadStrokes.get(char) : undefined) ?? strokes.get(char);
}
