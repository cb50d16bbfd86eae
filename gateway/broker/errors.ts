/** Coded errors of the broker: bad options, a refused publication. Stable codes, listed in docs/gateway.md. */
export const brokerErrorCodes = [
  /** A limit is not an integer in its range; the message names the key. */
  'TS_ERR_GATEWAY_LIMIT',
  /** startBroker options are wrong: no listener, a TLS listener without key or cert, a bad Redis URL. */
  'TS_ERR_GATEWAY_OPTIONS',
  /** GatewayBroker.publish on a topic with a wildcard or a `$` prefix. */
  'TS_ERR_GATEWAY_TOPIC',
  /** GatewayBroker.publish with a payload over the limit for its channel. */
  'TS_ERR_GATEWAY_PAYLOAD_TOO_LARGE',
  /** The broker is closed. */
  'TS_ERR_GATEWAY_CLOSED',
] as const;
export type BrokerErrorCode = (typeof brokerErrorCodes)[number];

export class BrokerError extends Error {
  constructor(readonly code: BrokerErrorCode, message: string) {
    super(message);
    this.name = 'BrokerError';
  }
}
