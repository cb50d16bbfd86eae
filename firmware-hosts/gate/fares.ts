/**
 * The exit fare from the retained fare table (claim 11). A journey whose
 * entry station is missing, unverifiable or not in the table costs the
 * table's maximum fare (the TfL rule): a customer can never pay less by
 * hiding where they came from.
 */
import { limits } from '../../protocol/index.ts';
import type { DeviceConfig } from '../../protocol/index.ts';

type FareTable = NonNullable<DeviceConfig['fareTable']>;

export interface Fare {
  minor: number;
  currency: string;
  /** The article named in the settle request: which journey was charged. */
  article: string;
  /** True when the maximum fare applied (no usable entry). */
  max: boolean;
}

const article = (text: string): string => text.slice(0, limits.articleIdLengthMax);

/** The fare from `from` to `to`: the entry for from→to, else to→from (fares are symmetric unless the table says otherwise), else the maximum. */
export function fareFor(table: FareTable, from: string | null, to: string): Fare {
  const max: Fare = { minor: table.maxFareMinor, currency: table.currency, article: article(`fare max>${to}`), max: true };
  if (from === null) return max;
  const entry = table.fares.find((f) => f.from === from && f.to === to) ?? table.fares.find((f) => f.from === to && f.to === from);
  if (entry === undefined) return max;
  return { minor: entry.fareMinor, currency: table.currency, article: article(`fare ${from}>${to}`), max: false };
}
