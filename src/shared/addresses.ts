import ipaddr from 'ipaddr.js';

/**
 * The key a client address is counted under by the per-address limits. An IPv4 address is one client (and an
 * IPv4-mapped IPv6 address is that IPv4 address). An IPv6 client is its /64: a single host is routinely given a whole
 * /64 and can pick a fresh address from it for every request, so counting addresses one by one would count nothing.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return address;
  }
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}

/** The key of an HTTP request's client: Express's address for it (the socket's, or a trusted proxy's forwarded one). */
export function clientAddressOf(req: { ip?: string | undefined; socket: { remoteAddress?: string | undefined } }): string {
  return addressKey(req.ip ?? req.socket.remoteAddress);
}
