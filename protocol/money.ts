import { z } from 'zod';
import { limits } from './limits.ts';

/** ISO 4217 alphabetic code. The minor unit count is the currency's smallest unit (cents for EUR). */
export const Currency = z.string().length(3).regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code');

/** A purchase amount: a positive integer count of minor units plus its currency. Never a float. */
export const Money = z.strictObject({
  minor: z.number().int().min(1).max(limits.amountMinorMax),
  currency: Currency,
});
export type Money = z.infer<typeof Money>;

/** A signed amount, for balances and floors. */
export const SignedMinor = z.number().int().min(-limits.balanceMinorMax).max(limits.balanceMinorMax);

export function formatMoney(minor: number, currency: string, decimals = 2): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  if (decimals === 0) return `${sign}${abs} ${currency}`;
  const unit = 10 ** decimals;
  return `${sign}${Math.trunc(abs / unit)}.${String(abs % unit).padStart(decimals, '0')} ${currency}`;
}
