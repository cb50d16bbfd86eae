/** The card processing apparatus of claim 36 (docs/ledger.md "Cards (claim 36)"). */
export { CardAuthorizationLog, cardLogPath, deriveCardLogKey, fingerprintKeyBytesMin } from './authorization-log.ts';
export type { LogEntry } from './authorization-log.ts';
export { CardProcessor } from './card-processor.ts';
export type { CardLogger, CardProcessorOptions, ProcessorReply } from './card-processor.ts';
export { cardRouteErrors, registerCardRoutes } from './card-routes.ts';
export type { CardRouteDeps } from './card-routes.ts';
export { IssuerClient, IssuerClientError, defaultIssuerClientLimits } from './issuer-client.ts';
export type { IssuerAnswer, IssuerClientLimits, IssuerClientOptions } from './issuer-client.ts';
export { CardAuthorizationBody, CardAuthorizationResult } from './schemas.ts';
