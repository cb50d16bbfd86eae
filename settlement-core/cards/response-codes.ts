/**
 * Authorization response codes in the manner of ISO 8583 data element 39
 * (../shared/REFERENCE.md "Card authorization"). The issuer host answers
 * every code but 91; the card processing apparatus in the gateway answers 91
 * (issuer down or silent) and 96 (the issuer's answer is garbled) itself.
 * Codes are stable: never renumbered, never reused.
 */
export const responseCodes = {
  '00': 'approved',
  '05': 'do not honour',
  '14': 'invalid card number',
  '51': 'insufficient funds',
  '54': 'expired card',
  '55': 'incorrect PIN',
  '57': 'transaction not permitted to cardholder',
  '61': 'exceeds amount limit',
  '62': 'restricted card',
  '91': 'issuer unavailable',
  '96': 'system malfunction',
} as const;
export type ResponseCode = keyof typeof responseCodes;
export const responseCodeList = Object.keys(responseCodes) as ResponseCode[];

export const isApproved = (code: ResponseCode): boolean => code === '00';

/**
 * A code that says nothing about the card, only that no decision was made:
 * the same authorization id may be sent again and get a real decision.
 * Every other code is final for its authorization id.
 */
export const isRetryable = (code: ResponseCode): boolean => code === '91' || code === '96';
