/**
 * The dashboard as a person sees it, driven through Debian's chromium with
 * playwright-core. Tests speak in these terms (open it, tap a phone on a
 * device, read a gate's relay and a phone's balance) and never in selectors,
 * so the same test runs against any station behind the dashboard.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

export const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
/** How long a page-object wait lasts: a tap holds a gate open for a second or two. */
export const waitMs = 10_000;

/** Why the browser test cannot run here, or null when TAPSETTLE_CHROMIUM names an executable. */
export function chromiumSkipReason(): string | null {
  const path = process.env.TAPSETTLE_CHROMIUM;
  if (path === undefined || path === '') return 'TAPSETTLE_CHROMIUM is not set (.ci/run sets it to /usr/bin/chromium)';
  if (!existsSync(path)) return `TAPSETTLE_CHROMIUM=${path} does not exist (apt-get install chromium)`;
  return null;
}

export type RelayState = 'open' | 'closed';

export class DashboardPage {
  /** Console errors and uncaught exceptions of the page (a CSP violation shows up here). */
  readonly errors: string[] = [];

  constructor(readonly browser: Browser, readonly page: Page) {
    page.on('console', (m) => { if (m.type() === 'error') this.errors.push(m.text()); });
    page.on('pageerror', (e) => this.errors.push(e.message));
  }

  private device(id: string) {
    return this.page.getByTestId(`device-${id}`);
  }

  /** Places the phone on the device's reader with the tap form; resolves with what the dashboard answered. */
  async tap(phone: string, deviceId: string): Promise<string> {
    await this.page.getByTestId('tap-phone').selectOption(phone);
    await this.page.getByTestId('tap-device').selectOption(deviceId);
    return this.press(this.page.getByTestId('tap-button'));
  }

  /** Jams the dispenser (the chosen slot, when given) with its card's Jam button. */
  async jam(deviceId: string, slot?: string): Promise<string> {
    if (slot !== undefined) await this.page.getByTestId(`jam-slot-${deviceId}`).selectOption(slot);
    return this.press(this.page.getByTestId(`jam-${deviceId}`));
  }

  /** Presses the card's Cut off / Reconnect button. */
  async cut(deviceId: string): Promise<string> {
    return this.press(this.page.getByTestId(`cut-${deviceId}`));
  }

  /** An output's state as the page shows it ("open", "jammed", "active"…); null if the device shows no such output. */
  async output(deviceId: string, name: string): Promise<string | null> {
    const o = this.page.getByTestId(`output-${deviceId}-${name}`);
    return (await o.count()) === 0 ? null : o.getAttribute('data-state');
  }

  /** Clicks a button and resolves with the answer the page shows ("tap…" while it waits). */
  private async press(button: ReturnType<Page['getByTestId']>): Promise<string> {
    const result = this.page.getByTestId('action-result');
    await result.evaluate((node: { textContent: string | null }) => void (node.textContent = ''));
    await button.click();
    await this.page.locator('[data-testid="action-result"]', { hasText: /[^…]$/ }).waitFor({ timeout: waitMs });
    return (await result.textContent()) ?? '';
  }

  /** The device's first relay as the page shows it (a gate's gate, a vending machine's first spiral); null if it shows none. */
  async deviceRelay(deviceId: string): Promise<RelayState | null> {
    const relay = this.device(deviceId).locator('[data-kind="relay"]').first();
    if ((await relay.count()) === 0) return null;
    return (await relay.getAttribute('data-state')) as RelayState | null;
  }

  /** Resolves once the device's first relay shows `state`. */
  async waitForRelay(deviceId: string, state: RelayState): Promise<void> {
    await this.device(deviceId).locator(`[data-kind="relay"][data-state="${state}"]`).first().waitFor({ timeout: waitMs });
  }

  /** What the relay's label reads: OPEN or closed for a gate, turning or still for a spiral. */
  async relayLabel(deviceId: string): Promise<string> {
    return (await this.device(deviceId).locator('[data-kind="relay"] b').first().textContent()) ?? '';
  }

  async presence(deviceId: string): Promise<string> {
    return (await this.page.getByTestId(`presence-${deviceId}`).textContent()) ?? '';
  }

  /** The phone's balance in minor units, as the page shows it. */
  async balance(phone: string): Promise<number> {
    const minor = await this.page.getByTestId(`balance-${phone}`).getAttribute('data-minor', { timeout: waitMs });
    return Number(minor);
  }

  async admission(phone: string): Promise<string> {
    return (await this.page.getByTestId(`admission-${phone}`).textContent()) ?? '';
  }

  /** Settlement rows, newest first. */
  async settlements(): Promise<{ deviceId: string; status: string; outcome: string }[]> {
    type Row = { getAttribute(name: string): string | null; querySelector(selector: string): { textContent: string | null } | null };
    return this.page.locator('[data-testid="settlements"] tbody tr').evaluateAll((rows: Row[]) => rows.map((r) => ({
      deviceId: r.getAttribute('data-device') ?? '',
      status: r.getAttribute('data-status') ?? '',
      outcome: r.querySelector('[data-testid^="outcome-"]')?.textContent ?? '',
    })));
  }

  /** What the live-stream badge says: connecting, live or reconnecting. */
  async streamStatus(): Promise<string> {
    return (await this.page.getByTestId('stream-status').getAttribute('data-state')) ?? '';
  }

  async screenshot(path: string): Promise<void> {
    await this.page.screenshot({ path, fullPage: true });
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** Launches chromium (TAPSETTLE_CHROMIUM), opens the dashboard and waits until its stream is live. */
export async function openDashboard(url: string): Promise<DashboardPage> {
  const executablePath = process.env.TAPSETTLE_CHROMIUM;
  if (executablePath === undefined) throw new Error(chromiumSkipReason() ?? 'no chromium');
  const browser = await chromium.launch({ executablePath, headless: true, args: chromiumFlags });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const dashboard = new DashboardPage(browser, page);
    await page.goto(url);
    await page.locator('[data-testid="stream-status"][data-state="live"]').waitFor({ timeout: waitMs });
    return dashboard;
  } catch (err) {
    await browser.close();
    throw err;
  }
}
