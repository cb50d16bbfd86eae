/**
 * Every bound of the wire contract, in one place. A limit's unit is the last
 * word of its name. Devices written in other languages read these from the
 * JSON Schemas in docs/protocol/, which are generated from the schemas that
 * use these constants.
 */
export const limits = {
  /** Protocol version spoken by this code. A body with another `v` is refused. */
  protocolVersion: 1,
  /** Largest settle/outcome/result/state/event body: a settle request is ~700 bytes; 4 KiB leaves room without inviting abuse. */
  messageBytesMax: 4 * 1024,
  /** Largest retained config body (catalog + fare table + deny list + keys). */
  configBytesMax: 256 * 1024,
  /** Device ids are topic levels: short, lower-case, no MQTT wildcards or separators. */
  deviceIdLengthMax: 64,
  /** Article ids and names as printed on a slot label. */
  articleIdLengthMax: 64,
  articleNameLengthMax: 80,
  /** Free-text detail on outcomes and events, for a technician; never parsed. */
  detailLengthMax: 200,
  /** One purchase never exceeds 1,000,000.00 in a two-decimal currency. */
  amountMinorMax: 100_000_000,
  /** Balances and floors: ±10^15 minor units keeps every sum inside 2^53. */
  balanceMinorMax: 1_000_000_000_000_000,
  /** Wallet counters are 32-bit, as an EMV application transaction counter is 16-bit and we want headroom. */
  walletCounterMax: 0xffff_ffff,
  /** A device nonce is 16 random bytes; the cryptogram and tags are HMAC-SHA256 (32 bytes). */
  nonceBytes: 16,
  macBytes: 32,
  /** Cooling-off (claim 13) at most 30 days. */
  coolingOffSecMax: 30 * 24 * 3600,
  /** A device that promises an outcome must send it within one hour at most. */
  outcomeDeadlineSecMax: 3600,
  /** Memberships named by an eligibility rule or held by a customer. */
  membershipsMax: 16,
  membershipLengthMax: 32,
  /** Quantity of one article in one purchase. */
  quantityMax: 99,
  /** Retained config sizes. */
  catalogItemsMax: 512,
  fareEntriesMax: 4096,
  denyListMax: 10_000,
  publicKeysMax: 16,
  /** Offline-checked documents (tickets, admission info, e-money tokens). */
  stationIdLengthMax: 32,
  /** A ticket is valid for at most one year after it is settled, for at most 1,000 admissions. */
  ticketValiditySecMax: 366 * 24 * 3600,
  ticketUsesMax: 1000,
  /** Relays, sensors and slots a device reports in its state (a 60-slot machine reports slots by exception). */
  deviceOutputsMax: 64,
  /** Timestamps are Unix epoch milliseconds; 2^47 ms is past the year 6000. */
  epochMsMax: 2 ** 47,
} as const;
