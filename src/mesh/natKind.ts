// What the endpoints our neighbours see our UDP probes arrive from tell about
// the NAT we are behind, as STUN tells it (RFC 4787's terms): none if each is
// one of our own addresses with our own port; one mapping for several
// neighbours: endpoint-independent, the kind hole punching gets through; a
// mapping per neighbour: symmetric (address-dependent), which needs a relay.
import { endpointAddress } from '../net/hostPort.js';
import type { NatKind } from './peerInfo.js';

/** `seenAt`: one "ip:port" ("[ipv6]:port") per neighbour that reported one. */
export function natKind(seenAt: readonly string[], localAddrs: ReadonlySet<string>, dataPort: number): NatKind | undefined {
  if (seenAt.length === 0) return undefined;
  const translated = seenAt.filter((endpoint) => {
    const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
    return !localAddrs.has(endpointAddress(endpoint)) || port !== dataPort;
  });
  if (translated.length === 0) return 'none';
  if (new Set(translated).size > 1) return 'symmetric';
  return translated.length > 1 ? 'endpoint-independent' : 'behind-nat';
}
