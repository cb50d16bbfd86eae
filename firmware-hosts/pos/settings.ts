/**
 * The `pos` section of a purchase terminal's device file: how amounts and
 * articles are keyed in, how the sale is settled (by the terminal, claim 8,
 * or by the phone, claim 9), and a bound on every wait and on the basket.
 * Every number is bounded; every default is named here.
 */
import { z } from 'zod';
import { appletDataLimits } from '../../protocol/applet.ts';
import { MerchantCategory } from '../../protocol/card-data.ts';
import { Currency, limits } from '../../protocol/index.ts';

export const posDefaults = {
  /** Claim 8: the terminal sends the settling information. `phone`: claim 9. `card`: claim 36, the phone's payment card through the card processing apparatus. */
  mode: 'terminal',
  currency: 'EUR',
  /** Numeric-keypad friendly: `*1250⏎` keys in 12.50, `+⏎` pays, `-⏎` clears. */
  codes: { amountPrefix: '*', confirm: '+', cancel: '-' },
  /** An EAN-13 is 13 characters, a Code-128 article id rarely over 20; anything longer is a misread or a stuck key. */
  codeCharsMax: 32,
  /** A till receipt, not a warehouse: more lines than this are refused. */
  basketLinesMax: 20,
  /** The most one sale may cost, minor units: a purchase terminal at a machine, not a car dealer (1,000.00). */
  saleMinorMax: 100_000,
  /** The article a keyed-in amount is sold as. */
  amountArticle: 'amount',
  /** The article of a sale with more than one kind of line. */
  basketArticle: 'basket',
  /** A basket left alone this long is cleared (the customer walked away). */
  entryTimeoutMs: 120_000,
  /** From "tap your phone" to a phone in the field. */
  tapTimeoutMs: 30_000,
  /** From the phone's authorization to a verified result; a phone-sent settle (claim 9) includes its HTTP round trip. */
  settleTimeoutMs: 10_000,
  /** The money waits in clearing until the terminal reports the goods handed over; unreported by then, it returns to the payer. */
  outcomeDeadlineSec: 120,
  /** How long a result stays on the display before the terminal takes the next sale. */
  resultShowMs: 4_000,
  card: {
    /** Which of the phone's cards GET CARD reads (its first). */
    index: 0,
    /** ISO 18245 category of what this terminal sells: 5999, miscellaneous retail. */
    mcc: '5999',
    /** From publishing the card request to a verified answer: above the gateway's issuer deadline (5 s, then 91) with room for the capture and a resend. */
    timeoutMs: 12_000,
    /** Above this amount the customer keys in the card's PIN; null: never asked (a card that wants one declines 55). */
    pinAboveMinor: null,
    /** How long the terminal waits for the PIN. */
    pinTimeoutMs: 30_000,
  },
} as const;

const Ms = (min: number, max: number, d: number) => z.number().int().min(min).max(max).default(d);
const Code = z.string().min(1).max(8).regex(/^[^\s]+$/, 'no spaces');
const Article = z.string().min(1).max(limits.articleIdLengthMax);

export const PosSection = z.strictObject({
  mode: z.enum(['terminal', 'phone', 'card']).default(posDefaults.mode),
  currency: Currency.default(posDefaults.currency),
  codes: z.strictObject({
    amountPrefix: Code.default(posDefaults.codes.amountPrefix),
    confirm: Code.default(posDefaults.codes.confirm),
    cancel: Code.default(posDefaults.codes.cancel),
  }).refine((c) => new Set([c.amountPrefix, c.confirm, c.cancel]).size === 3, 'amountPrefix, confirm and cancel must differ').default(posDefaults.codes),
  codeCharsMax: z.number().int().min(2).max(limits.articleIdLengthMax).default(posDefaults.codeCharsMax),
  basketLinesMax: z.number().int().min(1).max(100).default(posDefaults.basketLinesMax),
  saleMinorMax: z.number().int().min(1).max(limits.amountMinorMax).default(posDefaults.saleMinorMax),
  amountArticle: Article.default(posDefaults.amountArticle),
  basketArticle: Article.default(posDefaults.basketArticle),
  entryTimeoutMs: Ms(1_000, 3_600_000, posDefaults.entryTimeoutMs),
  tapTimeoutMs: Ms(100, 600_000, posDefaults.tapTimeoutMs),
  settleTimeoutMs: Ms(100, 120_000, posDefaults.settleTimeoutMs),
  outcomeDeadlineSec: z.number().int().min(1).max(limits.outcomeDeadlineSecMax).default(posDefaults.outcomeDeadlineSec),
  resultShowMs: Ms(10, 60_000, posDefaults.resultShowMs),
  card: z.strictObject({
    index: z.number().int().min(0).max(appletDataLimits.cardsHeldMax - 1).default(posDefaults.card.index),
    mcc: MerchantCategory.default(posDefaults.card.mcc),
    timeoutMs: Ms(1_000, 120_000, posDefaults.card.timeoutMs),
    pinAboveMinor: z.number().int().min(0).max(limits.amountMinorMax).nullable().default(posDefaults.card.pinAboveMinor),
    pinTimeoutMs: Ms(1_000, 600_000, posDefaults.card.pinTimeoutMs),
  }).default(posDefaults.card),
});
export type PosSettings = z.output<typeof PosSection>;
