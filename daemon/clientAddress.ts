import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * The client a connection counts against, from its address: an IPv4 address as it is (IPv4-mapped
 * IPv6 included), an IPv6 address by its /64, since anyone holding one address of a /64 usually holds
 * them all. Limits per client (connections, key checks) count by this.
 */
export function clientOf(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const plain = address.replace(/%.*$/, '').toLowerCase();
  if (plain.startsWith('::ffff:') && plain.includes('.')) return plain.slice(7);
  if (!plain.includes(':')) return plain;
  const [head = '', tail = ''] = plain.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = plain.includes('::') ? [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups] : headGroups;
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/** The address a request came from, as resolved by the server's listener (requestAddress). */
const addresses = new WeakMap<IncomingMessage, string>();

/**
 * Resolves each request's client address once, as it arrives: the socket's peer, or behind a
 * trusted proxy (`server.trusted_proxies`) the nearest address in X-Forwarded-For that is not
 * itself a trusted proxy (proxy-addr's rule, as Express applies it). A header from any other peer is
 * ignored: anyone can write one. Key-check budgets and the audit log count by this address.
 */
export function addressResolver(trust: ((address: string, hop: number) => boolean) | undefined): (req: IncomingMessage) => void {
  return (req) => {
    const peer = req.socket.remoteAddress ?? '';
    addresses.set(req, trust ? proxyaddr(req, trust) : peer);
  };
}

/** The request's client address (its socket's peer when no resolver saw it). */
export function requestAddress(req: IncomingMessage): string {
  return addresses.get(req) ?? req.socket.remoteAddress ?? '';
}
