export { decideIssue, issueReference } from './issue.ts';
export { decideDeposit, depositReference, verifyTokens } from './deposit.ts';
export type { EmoneyIssuer } from './decide-common.ts';
export { EmoneyError, emoneyErrorCodes } from './errors.ts';
export type { EmoneyErrorCode } from './errors.ts';
export { EmoneyDepositBody, EmoneyIssueBody, emoneyLimits, emoneyReasons } from './wire.ts';
export type { EmoneyDepositAnswer, EmoneyIssueAnswer, EmoneyReason, EmoneyReply } from './wire.ts';
export { auditEmoney } from './audit.ts';
