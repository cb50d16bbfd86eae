/** How the CLI talks: tables for people, JSON for scripts, coded errors, exit codes. */
import { CoreError, InvariantError } from '../settlement-core/index.ts';

export const exitCodes = {
  ok: 0,
  /** The command ran and found a problem (audit failed), or an operating error (unknown account, …). */
  failed: 1,
  /** The command line or its input is wrong. */
  usage: 2,
} as const;

export class CliError extends Error {
  constructor(readonly code: string, message: string, readonly exitCode: number = exitCodes.usage) {
    super(message);
  }
}

export function table(rows: readonly Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

export function print(json: boolean, data: unknown, human: () => string): void {
  process.stdout.write(`${json ? JSON.stringify(data, null, 2) : human()}\n`);
}

/** Maps any error to a message on stderr and an exit code; never a stack trace for an expected error. */
export function fail(err: unknown, json: boolean): number {
  let code = 'TS_ERR_INTERNAL';
  let message = err instanceof Error ? err.message : String(err);
  let exitCode: number = exitCodes.failed;
  if (err instanceof CliError) ({ code, exitCode } = err);
  else if (err instanceof CoreError) {
    code = err.code;
    exitCode = err.code === 'TS_ERR_INVALID_ARGUMENT' ? exitCodes.usage : exitCodes.failed;
  } else if (err instanceof InvariantError) {
    code = err.code;
    message = `${message} — stop the gateway and run \`tapsettle ledger audit\``;
  } else {
    const other = (err as { code?: unknown }).code;
    if (typeof other === 'string' && other.startsWith('TS_ERR_')) code = other;
    else if (other === 'ENOENT' || other === 'EACCES' || other === 'EISDIR') {
      code = 'TS_ERR_CLI_FILE';
      exitCode = exitCodes.usage;
    }
  }
  if (json) process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`tapsettle: ${message} [${code}]\n`);
  return exitCode;
}

export function parseIntArg(name: string, value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value)) throw new CliError('TS_ERR_CLI_ARG', `${name} must be an integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new CliError('TS_ERR_CLI_ARG', `${name} must be ${min}..${max}, got ${value}`);
  return n;
}

export function parseTimeArg(name: string, value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new CliError('TS_ERR_CLI_ARG', `${name} must be an ISO 8601 time or epoch milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}
