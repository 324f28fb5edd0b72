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
