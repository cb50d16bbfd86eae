/**
 * Device login (DESIGN §5): MQTT username = device id = client id, password =
 * the device's secret, checked by the registry. Deny by default: anything
 * that is not an active device with its current secret gets a CONNACK
 * refusal, never a session.
 *
 * Return codes (MQTT 3.1.1 §3.2.2.3): 2 identifier rejected (client id is not
 * the username), 3 server unavailable (too many key checks at once, or the
 * registry failed), 4 bad user name or password (unknown, revoked, wrong
 * secret — one answer for all, so a stranger learns nothing about which ids
 * exist), 5 not authorized (a last will the ACL refuses).
 */
import type { AedesOptions, AuthErrorCode, Client } from 'aedes';
import type { DeviceRecord } from '../devices/registry.ts';
import { deviceConnectDecision } from './acl.ts';
import type { AclBreach, AclRefusal } from './acl.ts';

/** What the broker needs of the device registry. */
export interface DeviceVerifier {
  verify(id: string, secret: string): Promise<DeviceRecord | null>;
}

export type AuthRejection = 'bad-credentials' | 'auth-busy' | 'auth-failed';

/** The registry key version a connection logged in under (set on the aedes client at login), so a later re-key can cut it. */
export const admittedKeyVersion = new WeakMap<object, number>();

export interface ConnectHooksOptions {
  verifier: DeviceVerifier;
  payloadBytesMax: number;
  authInFlightMax: number;
  onBreach: (breach: AclBreach, client: Client) => void;
  onRejected: (reason: AuthRejection, client: Client, detail: string) => void;
}

type PreConnect = NonNullable<AedesOptions['preConnect']>;
type Authenticate = NonNullable<AedesOptions['authenticate']>;

/** Aedes reads `returnCode` off the error it is given (2–5; anything else becomes 5). */
class ConnectRefused extends Error {
  constructor(readonly returnCode: AuthErrorCode, message: string) {
    super(message);
    this.name = 'ConnectRefused';
  }
}

const identifierRejected = 2 as AuthErrorCode;
const serverUnavailable = 3 as AuthErrorCode;
const badUsernameOrPassword = 4 as AuthErrorCode;
const notAuthorized = 5 as AuthErrorCode;

export function deviceConnectHooks(o: ConnectHooksOptions): { preConnect: PreConnect; authenticate: Authenticate } {
  // preConnect sees the CONNECT packet (client id, will); authenticate answers with a return code.
  const refusals = new WeakMap<Client, AclRefusal>();
  let inFlight = 0;

  const preConnect: PreConnect = function devicePreConnect(client, packet, callback) {
    const will = packet.will === undefined || packet.will === null ? undefined : {
      topic: packet.will.topic,
      // mqtt-packet leaves them undefined when the flags are clear.
      qos: packet.will.qos ?? 0,
      retain: packet.will.retain ?? false,
      payloadBytes: typeof packet.will.payload === 'string' ? Buffer.byteLength(packet.will.payload) : packet.will.payload.byteLength,
    };
    const decision = deviceConnectDecision({ clientId: packet.clientId, username: packet.username, will }, o.payloadBytesMax);
    if (!decision.allowed) refusals.set(client, decision.reason);
    callback(null, true);
  };

  const authenticate: Authenticate = function deviceAuthenticate(client, username, password, done) {
    const refusal = refusals.get(client);
    if (refusal === 'not-a-device-id') {
      o.onRejected('bad-credentials', client, 'username is not a device id');
      return done(new ConnectRefused(badUsernameOrPassword, 'bad user name or password'), false);
    }
    if (refusal !== undefined) {
      o.onBreach({ action: 'connect', deviceId: username ?? null, reason: refusal, topic: null }, client);
      const code = refusal === 'client-id-mismatch' ? identifierRejected : notAuthorized;
      return done(new ConnectRefused(code, `connect refused: ${refusal}`), false);
    }
    if (username === undefined || password === undefined) {
      o.onRejected('bad-credentials', client, 'no username or password');
      return done(new ConnectRefused(badUsernameOrPassword, 'bad user name or password'), false);
    }
    if (inFlight >= o.authInFlightMax) {
      o.onRejected('auth-busy', client, `${inFlight} key checks already running`);
      return done(new ConnectRefused(serverUnavailable, 'server busy, retry'), false);
    }
    inFlight += 1;
    o.verifier.verify(username, password.toString('utf8')).then((device) => {
      inFlight -= 1;
      if (device !== null) {
        admittedKeyVersion.set(client, device.keyVersion);
        return done(null, true);
      }
      o.onRejected('bad-credentials', client, 'unknown or revoked device, or wrong secret');
      done(new ConnectRefused(badUsernameOrPassword, 'bad user name or password'), false);
    }, (err: unknown) => {
      inFlight -= 1;
      o.onRejected('auth-failed', client, err instanceof Error ? err.message : String(err));
      done(new ConnectRefused(serverUnavailable, 'device registry unavailable'), false);
    });
  };

  return { preConnect, authenticate };
}
