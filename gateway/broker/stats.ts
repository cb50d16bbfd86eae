/** The broker's counters: what stats() returns and what the observer (metrics) is told, as it happens. */
import type { AclAction, AclRefusal } from './acl.ts';
import type { AuthRejection } from './auth.ts';

export type RejectReason = AuthRejection | 'connect-rate' | 'clients-full' | 'payload-too-large';
export type CloseReason = 'connect-timeout' | 'keepalive-timeout' | 'protocol-error' | 'network';

export interface BrokerObserver {
  /** An ACL breach (the connection is being closed). */
  breach?(action: AclAction, reason: AclRefusal): void;
  /** A connection or message refused for a reason other than the ACL. */
  rejected?(reason: RejectReason): void;
}

export interface BrokerStats {
  /** Authenticated MQTT sessions on this node. */
  connections: number;
  /** Open TCP sockets on this node, authenticated or not. */
  sockets: number;
  breaches: number;
  breachesByAction: Record<AclAction, number>;
  rejected: Record<RejectReason, number>;
  /** Connections Aedes closed on an error of the client's, by cause. */
  closed: Record<CloseReason, number>;
}

/** Aedes reports why it dropped a client only in the error's message. */
export function closeReason(err: Error): CloseReason {
  if (err.message === 'connect did not arrive in time') return 'connect-timeout';
  if (err.message === 'keep alive timeout') return 'keepalive-timeout';
  return typeof (err as NodeJS.ErrnoException).code === 'string' ? 'network' : 'protocol-error';
}

export class BrokerCounters {
  sockets = 0;
  private breaches = 0;
  private readonly breachesByAction: BrokerStats['breachesByAction'] = { connect: 0, publish: 0, subscribe: 0 };
  private readonly rejected: BrokerStats['rejected'] = { 'bad-credentials': 0, 'auth-busy': 0, 'auth-failed': 0, 'connect-rate': 0, 'clients-full': 0, 'payload-too-large': 0 };
  private readonly closed: BrokerStats['closed'] = { 'connect-timeout': 0, 'keepalive-timeout': 0, 'protocol-error': 0, network: 0 };

  constructor(private readonly observer: BrokerObserver | undefined) {}

  breach(action: AclAction, reason: AclRefusal): void {
    this.breaches += 1;
    this.breachesByAction[action] += 1;
    this.observer?.breach?.(action, reason);
  }

  reject(reason: RejectReason): void {
    this.rejected[reason] += 1;
    this.observer?.rejected?.(reason);
  }

  close(reason: CloseReason): void {
    this.closed[reason] += 1;
  }

  snapshot(connections: number): BrokerStats {
    return {
      connections, sockets: this.sockets, breaches: this.breaches,
      breachesByAction: { ...this.breachesByAction }, rejected: { ...this.rejected }, closed: { ...this.closed },
    };
  }
}
