import { BlockList, isIP } from 'node:net';
import { VisorError } from '../errors/VisorError.ts';

/** What an operator allows web-download (Glance's import from a URL) to fetch. */
export interface WebDownloadSettings {
  /** Ports a URL may name (its scheme's default when it names none). */
  ports: readonly number[];
  /** When not empty, the only host names (or IP literals) a URL may name. */
  allowedHosts: readonly string[];
  /** Host names (or IP literals) a URL may never name. */
  deniedHosts: readonly string[];
  /**
   * CIDR ranges allowed although special (private, loopback, link-local…): an operator's explicit
   * choice, none by default. A test server on loopback needs `127.0.0.1/32`.
   */
  allowedRanges: readonly string[];
  /** How long one download may take in all. */
  timeoutMs: number;
  /** Redirects followed, each hop judged as the first; 0 follows none. */
  maxRedirects: number;
  /** Downloads under way at once, daemon-wide: past it an import is refused (429) rather than queued. */
  maxConcurrent: number;
}

/** The rule a refused URL or address broke: the error names it. */
export type WebDownloadRule = 'scheme' | 'port' | 'host' | 'address-range' | 'redirect' | 'size' | 'status' | 'time';

const EXPECTED: Record<WebDownloadRule, string> = {
  scheme: 'an http or https URL',
  port: 'a port in web_download.ports',
  host: 'a host web_download.allowed_hosts and denied_hosts allow',
  'address-range': 'a public address, or one in web_download.allowed_ranges',
  redirect: 'redirects to URLs these same rules allow',
  size: 'a file within uploads.max_bytes',
  status: 'a 2xx answer',
  time: 'a download within web_download.timeout_seconds',
};

export function webDownloadRefused(rule: WebDownloadRule, message: string): VisorError {
  return new VisorError('invalid', `web-download refused (${rule}): ${message}`, [{ field: 'method.uri', rule, expected: EXPECTED[rule], message }]);
}

/**
 * Addresses no import may reach unless an operator allows their range: what is not the public
 * internet (the SSRF targets Glance 2026.1 closed: metadata services, the host's own services, the
 * private network). IPv6 ranges that embed an IPv4 address (mapped, NAT64, 6to4) are judged by the
 * IPv4 address they carry, or refused as a whole.
 */
const SPECIAL: ReadonlyArray<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared address space (carrier NAT)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (and the 169.254.169.254 metadata service)'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.88.99.0', 24, 'ipv4', '6to4 relay anycast'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved (and broadcast)'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['::', 96, 'ipv6', 'IPv4-compatible'],
  // The rest of ::/8 is reserved and unroutable; its odd spellings of IPv4 addresses are refused outright
  // (mapped addresses were judged as IPv4 above, before this list).
  ['::', 8, 'ipv6', 'reserved (::/8)'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64 (embeds an IPv4 address)'],
  ['64:ff9b:1::', 48, 'ipv6', 'local NAT64'],
  ['100::', 64, 'ipv6', 'discard-only'],
  ['2001::', 32, 'ipv6', 'Teredo (embeds an IPv4 address)'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['2002::', 16, 'ipv6', '6to4 (embeds an IPv4 address)'],
  ['fc00::', 7, 'ipv6', 'unique local (private; fd00:ec2::254 is a metadata service)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const MAPPED_DOTTED = /^::ffff:(?:0:)?(\d+\.\d+\.\d+\.\d+)$/i;
/** The form URL parsing gives a mapped address: [::ffff:127.0.0.2] becomes [::ffff:7f00:2]. */
const MAPPED_HEX = /^::ffff:(?:0:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/** The IPv4 address an IPv4-mapped IPv6 address carries (either spelling), else undefined. */
function mappedIPv4(address: string): string | undefined {
  const dotted = MAPPED_DOTTED.exec(address)?.[1];
  if (dotted !== undefined) return dotted;
  const hex = MAPPED_HEX.exec(address);
  if (hex === null) return undefined;
  const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/** Judges URLs and the addresses their hosts resolve to against the operator's settings. */
export class WebDownloadPolicy {
  readonly settings: WebDownloadSettings;
  private readonly allowed = new BlockList();

  constructor(settings: WebDownloadSettings) {
    this.settings = settings;
    for (const cidr of settings.allowedRanges) {
      const [net, bits] = cidr.split('/') as [string, string | undefined];
      const family = isIP(net) === 6 ? 'ipv6' : 'ipv4';
      this.allowed.addSubnet(net, bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family);
    }
  }

  /** Throws naming the rule unless the URL's scheme, port and host may be fetched (and an IP literal's range). */
  checkUrl(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw webDownloadRefused('scheme', `${url.protocol.slice(0, -1)} is not allowed: http or https only`);
    if (url.username !== '' || url.password !== '') throw webDownloadRefused('host', 'a URL with credentials is not allowed');
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    if (!this.settings.ports.includes(port)) throw webDownloadRefused('port', `port ${port} is not allowed (allowed: ${this.settings.ports.join(', ')})`);
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
    const named = (list: readonly string[]) => list.some((h) => h.toLowerCase().replace(/\.$/, '') === host);
    if (named(this.settings.deniedHosts)) throw webDownloadRefused('host', `host ${host} is denied`);
    if (this.settings.allowedHosts.length > 0 && !named(this.settings.allowedHosts)) throw webDownloadRefused('host', `host ${host} is not in the allowed hosts`);
    // An IP literal is connected to without a lookup: its range is judged here.
    if (isIP(host) !== 0) this.checkAddress(host);
  }

  /**
   * Throws naming the range unless the address is public or in a range the operator allowed. For an
   * address a host `name` resolved to, the refusal names the host and the range, never the address:
   * the daemon's resolver may see names the caller cannot (split-horizon DNS), and the refusal must
   * not read out internal records.
   */
  checkAddress(address: string, name?: string): void {
    const ip = mappedIPv4(address) ?? address;
    const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(ip) === 0) throw webDownloadRefused('address-range', `${name ?? address} is not an IP address`);
    if (this.allowed.check(ip, family)) return;
    for (const [net, bits, f, what] of SPECIAL) {
      if (f !== family) continue;
      const one = new BlockList();
      one.addSubnet(net, bits, f);
      if (one.check(ip, family)) throw webDownloadRefused('address-range', name === undefined ? `address ${address} is ${what}, which is not allowed` : `host ${name} resolves to an address that is ${what}, which is not allowed`);
    }
  }
}
