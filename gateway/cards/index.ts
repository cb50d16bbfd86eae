/** The card processing apparatus of claim 36 (docs/ledger.md "Cards (claim 36)", docs/gateway.md "Card payments"). */
export { CardAuthorizationLog, cardLogPath, deriveCardLogKey, fingerprintKeyBytesMin, principalKey } from './authorization-log.ts';
export type { LogEntry, Principal } from './authorization-log.ts';
export { CardProcessor } from './card-processor.ts';
export type { CardLogger, CardProcessorOptions, ProcessorReply, ReversalReply } from './card-processor.ts';
export { cardRouteErrors, registerCardRoutes } from './card-routes.ts';
export type { CardRouteDeps } from './card-routes.ts';
export { IssuerClient, IssuerClientError, defaultIssuerClientLimits } from './issuer-client.ts';
export type { IssuerAnswer, IssuerClientLimits, IssuerClientOptions } from './issuer-client.ts';
export { ReversalDriver, defaultReversalLimits, reversalView } from './reversal-driver.ts';
export type { CardLedger, ReversalLimits } from './reversal-driver.ts';
export { reversalReasons } from './reversal-log.ts';
export type { ReversalReason, ReversalRow } from './reversal-log.ts';
export { CardAuthorizationBody, CardAuthorizationResult, CardReversalBody, CardReversalResult } from './schemas.ts';
