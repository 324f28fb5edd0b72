import { BlockList, isIP } from 'node:net';
import { invalidField } from '../errors/VisorError.ts';
import type { WebDownloadSettings } from '../image-files/WebDownloadPolicy.ts';

/** The [web_download] table of the configuration file (Glance's web-download import). */
export interface WebDownloadFileSettings {
  ports?: number[];
  allowed_hosts?: string[];
  denied_hosts?: string[];
  allowed_ranges?: string[];
  timeout_seconds?: number;
  max_redirects?: number;
  max_concurrent?: number;
}

export const WEB_DOWNLOAD_KEYS = ['ports', 'allowed_hosts', 'denied_hosts', 'allowed_ranges', 'timeout_seconds', 'max_redirects', 'max_concurrent'] as const;

function strings(value: unknown, field: string, expected: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) throw invalidField(field, 'type', expected);
  return value as string[];
}

function int(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalidField(field, 'range', `an integer from ${min} to ${max}`);
  return value;
}

/**
 * The settings, with Glance's defaults: http(s) on ports 80 and 443, any host, no special address
 * range (private, loopback, link-local, metadata…) unless listed, 10 minutes, 3 redirects, 4 at once.
 */
export function webDownloadSettings(t: WebDownloadFileSettings | undefined): WebDownloadSettings {
  const ports = t?.ports === undefined ? [80, 443] : t.ports;
  if (!Array.isArray(ports) || ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw invalidField('web_download.ports', 'type', 'a non-empty list of port numbers, such as [80, 443]');
  }
  const allowedRanges = strings(t?.allowed_ranges, 'web_download.allowed_ranges', 'a list of CIDR ranges, such as ["127.0.0.1/32"]');
  for (const cidr of allowedRanges) {
    const [net, bits] = cidr.split('/') as [string, string | undefined];
    const family = isIP(net);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || (bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > max))) {
      throw invalidField('web_download.allowed_ranges', 'cidr', 'CIDR ranges such as "127.0.0.1/32" or "fd00::/8"', `web_download.allowed_ranges: ${JSON.stringify(cidr)} is not a CIDR range`);
    }
    new BlockList().addSubnet(net, bits === undefined ? max : Number(bits), family === 6 ? 'ipv6' : 'ipv4');
  }
  return {
    ports,
    allowedHosts: strings(t?.allowed_hosts, 'web_download.allowed_hosts', 'a list of host names'),
    deniedHosts: strings(t?.denied_hosts, 'web_download.denied_hosts', 'a list of host names'),
    allowedRanges,
    timeoutMs: int(t?.timeout_seconds, 'web_download.timeout_seconds', 1, 86400, 600) * 1000,
    maxRedirects: int(t?.max_redirects, 'web_download.max_redirects', 0, 10, 3),
    maxConcurrent: int(t?.max_concurrent, 'web_download.max_concurrent', 1, 1000, 4),
  };
}
