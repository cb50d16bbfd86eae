/**
 * `tapsettle sim tap --phone NAME --device ID [--choice CODE]`: places a
 * named phone of a running station (`tapsettle start`) on a named device's
 * reader, as the dashboard's Tap button does. It finds the station through
 * <data>/station.json and asks its gateway's local-only dashboard route
 * (POST /dashboard/api/tap) — the station lives in that process, so the tap
 * must happen there. Exit 0 with the device's answer; 2 for an unknown phone,
 * device or choice; 1 when the station is not running or the tap failed.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { GlobalOptions } from '../context.ts';
import { CliError, exitCodes, print } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

/** A tap waits for the core and the device (the dashboard gives it 15 s); a little more for the HTTP round trip. */
export const simTapTimeoutMs = 20_000;
/** station.json is ~300 bytes; the dashboard's answers are under 1 KiB. */
const stationInfoBytesMax = 4096;

interface TapOptions {
  phone?: string;
  device?: string;
  choice?: string;
}

async function readInfo(data: string): Promise<{ http: string; pid: number }> {
  const { StationInfo, stationInfoPath } = await import('./start-station.ts');
  const path = stationInfoPath(data);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliError('TS_ERR_CLI_NO_STATION', `no running station under ${data} (${path} is missing): start one with \`tapsettle start --data ${data}\``, exitCodes.failed);
  }
  let parsed;
  try {
    parsed = text.length <= stationInfoBytesMax ? StationInfo.safeParse(JSON.parse(text)) : null;
  } catch {
    parsed = null;
  }
  if (!parsed?.success) throw new CliError('TS_ERR_CLI_NO_STATION', `${path} is not what \`tapsettle start\` writes; restart the station`, exitCodes.failed);
  return parsed.data;
}

const usageCodes = new Set(['TS_ERR_DASHBOARD_UNKNOWN_PHONE', 'TS_ERR_DASHBOARD_UNKNOWN_DEVICE', 'TS_ERR_INVALID_BODY']);

async function tap(g: GlobalOptions, o: TapOptions): Promise<number> {
  if (o.phone === undefined || o.device === undefined) throw new CliError('TS_ERR_CLI_ARG', 'give both --phone NAME and --device ID (the dashboard lists them)');
  const info = await readInfo(g.data);
  const body = { phone: o.phone, deviceId: o.device, ...(o.choice !== undefined ? { choice: o.choice } : {}) };
  let res: Response;
  try {
    res = await fetch(`${info.http}/dashboard/api/tap`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(simTapTimeoutMs),
    });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${simTapTimeoutMs} ms` : ((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message);
    throw new CliError('TS_ERR_CLI_NO_STATION', `the station at ${info.http} (pid ${info.pid}) did not answer (${why}); is \`tapsettle start\` still running?`, exitCodes.failed);
  }
  const text = (await res.text()).slice(0, stationInfoBytesMax);
  let answer: { ok?: boolean; message?: string; error?: { code?: string; message?: string }; code?: string } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // not JSON: reported below with the status
  }
  if (res.ok && answer.ok === true) {
    print(g.json ?? false, { ok: true, phone: o.phone, device: o.device, message: answer.message ?? '' }, () => `${o.phone} at ${o.device}: ${answer.message ?? ''}`);
    return exitCodes.ok;
  }
  const code = answer.error?.code ?? answer.code ?? 'TS_ERR_CLI_TAP';
  const message = answer.error?.message ?? (text || `HTTP ${res.status}`);
  throw new CliError(code, message, usageCodes.has(code) ? exitCodes.usage : exitCodes.failed);
}

/** Registers `sim tap` under the `sim` command. */
export function simTapCommand(sim: Command, run: Run): void {
  sim.command('tap')
    .description('place a named phone of the running station (tapsettle start) on a named device\'s reader')
    .option('--phone <name>', 'the phone (Ada, Ben, Cleo, Dev, Eve in the demo station)')
    .option('--device <id>', 'the device (gate-entry-1, gate-exit-1, vending-1, kiosk-1, pos-1 in the demo station)')
    .option('--choice <code>', 'what to buy first: a vending slot (A1), a kiosk ticket (T1), a terminal article or an amount in cents (250); default: the device\'s')
    .action((o: TapOptions) => run((g) => tap(g, o)));
}
