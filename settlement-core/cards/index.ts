/** The card authentication apparatus of claim 36: an issuer host with its card table. docs/ledger.md "Cards (claim 36)". */
export { CardStore, defaultCardStoreLimits } from './card-store.ts';
export type { AddCardInput, AuthorizeOutcome, CardStoreLimits, CardStoreOptions, CardView } from './card-store.ts';
export { cardStatuses, decide } from './decide.ts';
export type { CardRecord, CardStatus, Checks, Decision } from './decide.ts';
export { CardError, cardErrorCodes, scrubDigits } from './errors.ts';
export type { CardErrorCode } from './errors.ts';
export { acquirerTokenCharsMin, cardRedactPaths, defaultIssuerHostLimits, issuerHttpErrors, startIssuerHost } from './issuer-host.ts';
export type { IssuerHost, IssuerHostLimits, IssuerHostOptions } from './issuer-host.ts';
export { isApproved, isRetryable, responseCodeList, responseCodes } from './response-codes.ts';
export type { ResponseCode } from './response-codes.ts';
export { cardTokenPattern, pepperBytesMin } from './secrets.ts';
export { AuthorizationRequest, AuthorizationResponse, ReversalRequest, ReversalResponse, issuerWireVersion, reversalStatuses } from './wire.ts';
export type { ReversalStatus } from './wire.ts';
export type { ReverseOutcome } from './reversals.ts';
export { ensureIssuerSecrets, issuerSecretsPath, loadIssuerSecrets } from './secrets-file.ts';
export type { IssuerSecrets } from './secrets-file.ts';
export { CardLedgerAnswer, CardSaleCapture, CardSaleReversal, cardCaptureDevice, cardLedgerReasons, cardLedgerStatuses, cardReversalDevice, cardReversalReasons } from './ledger-wire.ts';
export type { CardLedgerReason, CardReversalReason } from './ledger-wire.ts';
