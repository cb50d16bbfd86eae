/**
 * The simulated phone's e-money (claims 34–35), over the wallet API: ask for
 * issuance (to itself or another wallet), collect the tokens issued to it
 * from the inbox into its purse (the applet's holdings, as PUT EMONEY would
 * put them there at a device), and hand tokens back to be deposited. Every
 * answer is checked before it is believed: a token must parse and name this
 * wallet as its holder before it enters the purse.
 */
import type { z } from 'zod';
import { appletDataLimits, putMode, sw } from '../../protocol/applet.ts';
import { EmoneyDepositAnswer, EmoneyInboxPage, EmoneyIssueAnswer, emoneyApiLimits, uuidv7 } from '../../protocol/index.ts';
import type { EmoneyDepositBody, EmoneyIssueBody, EmoneyToken, Money } from '../../protocol/index.ts';
import type { WalletApiClient } from './wallet-api-client.ts';
import { WalletApiError } from './wallet-api-client.ts';
import type { WalletHoldings } from './wallet-holdings.ts';

/** An e-money answer holds up to a purse of tokens (32 × ~420 bytes): protocol's bound, 16 KiB with room for the envelope. */
export const emoneyAnswerBytesMax = emoneyApiLimits.answerBytesMax;

/** The answers are protocol's schemas (protocol/emoney-api.ts), the ones the core answers in. */
export type IssueDecision = EmoneyIssueAnswer;
export type DepositDecision = EmoneyDepositAnswer;

function parseAnswer<S extends z.ZodType>(schema: S, text: string, what: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new WalletApiError('TS_ERR_WALLET_API_BAD_ANSWER', `${what}: not JSON`, 200);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new WalletApiError('TS_ERR_WALLET_API_BAD_ANSWER', `${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`.slice(0, 300), 200);
  return parsed.data;
}

export class PhoneEmoney {
  constructor(private readonly api: WalletApiClient, private readonly holdings: WalletHoldings) {}

  private get base(): string {
    return `/v1/wallets/${this.api.walletId}/emoney`;
  }

  /** Claim 34: issuance of `amount` to `recipient` (default: this wallet), paid from this wallet's account. Resend with the same requestId after a failure. */
  async issue(amount: Money, recipient: string = this.api.walletId, requestId: string = uuidv7()): Promise<IssueDecision> {
    const body: EmoneyIssueBody = { requestId, amount, recipient };
    const text = await this.api.signedRequest('POST', `${this.base}/issue`, { body: JSON.stringify(body), bytesMax: emoneyAnswerBytesMax });
    return parseAnswer(EmoneyIssueAnswer, text, 'issue answer');
  }

  /**
   * Collects the inbox into the purse, page by page, until it is empty or the
   * purse is full (the rest waits in the inbox). Returns the tokens added.
   */
  async collect(): Promise<EmoneyToken[]> {
    const added: EmoneyToken[] = [];
    for (let after: string | null = null, pages = 0; pages < appletDataLimits.emoneyTokensHeldMax; pages += 1) {
      const params: Record<string, string> = after === null ? {} : { after };
      const page = parseAnswer(EmoneyInboxPage, await this.api.signedRequest('GET', `${this.base}/inbox`, { params, bytesMax: emoneyAnswerBytesMax }), 'inbox');
      const held = new Set(this.holdings.emoney().map((t) => t.serial));
      for (const token of page.tokens.filter((t) => !held.has(t.serial))) {
        // The purse refuses a token for another holder (6A80) and a full purse (6A84): stop there.
        if (this.holdings.putEmoney([token], putMode.add) !== sw.ok) return added;
        added.push(token);
      }
      if (page.nextAfter === null) return added;
      after = page.nextAfter;
    }
    return added;
  }

  /** Claim 35: hands tokens back (default: the whole purse); deposited tokens leave the purse, refused ones stay. */
  async deposit(tokens: readonly EmoneyToken[] = this.holdings.emoney(), requestId: string = uuidv7()): Promise<DepositDecision> {
    const body: EmoneyDepositBody = { requestId, tokens: [...tokens] };
    const text = await this.api.signedRequest('POST', `${this.base}/deposit`, { body: JSON.stringify(body), bytesMax: emoneyAnswerBytesMax });
    const decision = parseAnswer(EmoneyDepositAnswer, text, 'deposit answer');
    if (decision.status === 'deposited') {
      const spent = new Set(decision.serials);
      this.holdings.putEmoney(this.holdings.emoney().filter((t) => !spent.has(t.serial)), putMode.replaceAll);
    }
    return decision;
  }
}
