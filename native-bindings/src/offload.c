/* Byte kernels for the TUN offloads: cutting a TCP super-packet the kernel
 * handed us (IFF_VNET_HDR + TUNSETOFFLOAD TSO4/TSO6) into MTU-sized segments with
 * their headers and checksums, finishing a checksum the kernel left partial,
 * and gluing consecutive segments of one TCP flow back into a super-packet
 * the kernel cuts again (or passes whole over veth and bridges). */
#include "offload.h"

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <string.h>

/* Adds w to a ones'-complement accumulator, the carry out of bit 63 wrapped
 * back in: a sum modulo 2^64 - 1, which folds to the same 16 bits (2^16 - 1
 * divides 2^64 - 1) as a sum of 16-bit words. */
static inline uint64_t add_carry(uint64_t sum, uint64_t w) {
  sum += w;
  return sum + (sum < w);
}

/* Ones'-complement sum of len bytes, unfolded: 16 bytes a step on two
 * chains (1,448 bytes in 42 ns here, 100 with 4-byte steps on one). */
static uint64_t sum_bytes(const uint8_t* p, size_t len, uint64_t sum) {
  uint64_t odd = 0; /* a second chain of carries, so two additions run at once */
  while (len >= 16) {
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    sum = add_carry(sum, a);
    odd = add_carry(odd, b);
    p += 16;
    len -= 16;
  }
  sum = add_carry(sum, odd);
  if (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    sum = add_carry(sum, w);
    p += 8;
    len -= 8;
  }
  if (len) { /* the last 1-7 bytes, zero-padded: each keeps its place in its 16-bit word */
    uint64_t w = 0;
    memcpy(&w, p, len);
    sum = add_carry(sum, w);
  }
  return sum;
}

static uint16_t fold(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* The L4 protocol of an IPv4 or IPv6 packet, or 0 (IPv6 with extension
 * headers: not one we cut or glue). */
static uint8_t l4_proto(const uint8_t* pkt, uint32_t len) {
  if (len >= 20 && (pkt[0] >> 4) == 4) return pkt[9];
  if (len >= 40 && (pkt[0] >> 4) == 6) return pkt[6];
  return 0;
}

/* Where the TCP or UDP header of an IPv4 or IPv6 packet starts, or 0. */
static uint32_t l4_start(const uint8_t* pkt, uint32_t len) {
  uint8_t proto = l4_proto(pkt, len);
  if (proto != 6 && proto != 17) return 0;
  if ((pkt[0] >> 4) == 6) return 40;
  uint32_t ihl = (uint32_t)(pkt[0] & 15) * 4;
  return ihl >= 20 && ihl <= len ? ihl : 0;
}

/* The L4 header's length (TCP: its data offset; UDP: 8) once l4_start found it. */
static uint32_t l4_header_len(const uint8_t* pkt, uint32_t len, uint32_t ihl) {
  if (l4_proto(pkt, len) == 17) return 8;
  return ihl + 13 <= len ? (uint32_t)(pkt[ihl + 12] >> 4) * 4 : 0;
}

/* Pseudo-header sum (network byte order words, as sum_bytes sees them). */
static uint64_t pseudo_sum(const uint8_t* ip, uint8_t proto, uint32_t l4_len) {
  int v6 = (ip[0] >> 4) == 6;
  uint64_t sum = v6 ? sum_bytes(ip + 8, 32, 0) : sum_bytes(ip + 12, 8, 0);
  return add_carry(add_carry(sum, htons(proto)), htons((uint16_t)l4_len));
}

static void ip_checksum(uint8_t* ip, uint32_t ihl) {
  ip[10] = ip[11] = 0;
  uint16_t c = (uint16_t)~fold(sum_bytes(ip, ihl, 0));
  memcpy(ip + 10, &c, 2);
}

/* Writes an IP packet's length field for `total` bytes in all (IPv6: its payload length). */
static void set_ip_length(uint8_t* ip, uint32_t ihl, uint32_t total) {
  uint16_t v = htons((uint16_t)((ip[0] >> 4) == 6 ? total - ihl : total));
  memcpy(ip + ((ip[0] >> 4) == 6 ? 4 : 2), &v, 2);
}

int tso_finish_checksum(uint8_t* pkt, uint32_t len, uint16_t start, uint16_t offset) {
  if ((uint32_t)start + offset + 2 > len) return -1;
  /* The field holds the pseudo-header sum already: summing from start covers it. */
  uint16_t c = (uint16_t)~fold(sum_bytes(pkt + start, len - start, 0));
  if (c == 0 && offset == 6) c = 0xffff; /* UDP (its field is at 6, TCP's at 16): 0 means "no checksum" */
  memcpy(pkt + start + offset, &c, 2);
  return 0;
}

int tso_segment_count(const uint8_t* pkt, uint32_t len, uint8_t proto, uint16_t gso_size, uint32_t room) {
  uint32_t ihl = l4_start(pkt, len);
  if (ihl == 0 || gso_size == 0 || (proto != 0 && l4_proto(pkt, len) != proto)) return -1;
  uint32_t l4 = l4_header_len(pkt, len, ihl);
  if (l4 < 8 || (l4 < 20 && l4_proto(pkt, len) == 6) || ihl + l4 > len || ihl + l4 + gso_size > room) return -1;
  uint32_t payload = len - ihl - l4;
  return payload == 0 ? 1 : (int)((payload + gso_size - 1) / gso_size);
}

uint32_t tso_cut_header_len(const uint8_t* pkt, uint32_t len) {
  uint32_t ihl = l4_start(pkt, len);
  return ihl + l4_header_len(pkt, len, ihl);
}

uint32_t tso_segment_header(const uint8_t* pkt, uint32_t len, uint16_t gso_size, uint32_t k, uint8_t* out) {
  uint32_t ihl = l4_start(pkt, len);
  uint32_t l4 = l4_header_len(pkt, len, ihl);
  uint32_t hlen = ihl + l4;
  uint32_t payload = len - hlen;
  uint32_t off = k * (uint32_t)gso_size;
  uint32_t seg = payload - off < gso_size ? payload - off : gso_size;
  int udp = l4_proto(pkt, len) == 17;
  memcpy(out, pkt, hlen);
  set_ip_length(out, ihl, hlen + seg);
  if ((pkt[0] >> 4) == 4) { /* IPv6 has neither an ID in its header nor a header checksum */
    uint16_t id;
    memcpy(&id, pkt + 4, 2);
    id = htons((uint16_t)(ntohs(id) + k));
    memcpy(out + 4, &id, 2);
    ip_checksum(out, ihl);
  }
  uint8_t* h = out + ihl;
  uint32_t field = udp ? 6 : 16;
  if (udp) {
    uint16_t v = htons((uint16_t)(8 + seg));
    memcpy(h + 4, &v, 2);
  } else {
    uint32_t seq;
    memcpy(&seq, pkt + ihl + 4, 4);
    seq = htonl(ntohl(seq) + off);
    memcpy(h + 4, &seq, 4);
    int last = off + seg >= payload;
    /* FIN and PSH belong to the last segment, CWR to the first. */
    h[13] = (uint8_t)(pkt[ihl + 13] & ~((last ? 0 : 0x09) | (k == 0 ? 0 : 0x80)));
  }
  /* The payload is summed where it lies: the segment may never be copied. */
  h[field] = h[field + 1] = 0;
  uint64_t sum = sum_bytes(pkt + hlen + off, seg, sum_bytes(h, l4, pseudo_sum(out, udp ? 17 : 6, l4 + seg)));
  uint16_t c = (uint16_t)~fold(sum);
  if (udp && c == 0) c = 0xffff; /* 0 would mean "no checksum" */
  memcpy(h + field, &c, 2);
  return seg;
}

uint32_t tso_segment(const uint8_t* pkt, uint32_t len, uint16_t gso_size, uint8_t* out, uint32_t stride,
                     uint32_t* lengths) {
  uint32_t hlen = tso_cut_header_len(pkt, len);
  uint32_t payload = len - hlen;
  uint32_t n = payload == 0 ? 1 : (payload + gso_size - 1) / gso_size;
  for (uint32_t k = 0; k < n; k++) {
    uint8_t* o = out + (size_t)k * stride;
    uint32_t seg = tso_segment_header(pkt, len, gso_size, k, o);
    memcpy(o + hlen, pkt + hlen + (size_t)k * gso_size, seg);
    lengths[k] = hlen + seg;
  }
  return n;
}

/* Header facts of a TCP packet (IPv4 without options, or IPv6 without
 * extension headers) that may join a super-packet; 0 if it cannot. */
typedef struct {
  uint32_t ihl, thl, payload, seq;
  uint32_t addr_at, addr_len; /* source and destination addresses */
  uint8_t flags;
} tcp_view;

static int view_tcp(const uint8_t* p, uint32_t len, tcp_view* v) {
  if (len >= 40 && p[0] == 0x45 && p[9] == 6) { /* no IP options */
    if ((p[6] & 0x3f) || p[7]) return 0;          /* a fragment */
    if ((((uint32_t)p[2] << 8) | p[3]) != len) return 0;
    v->ihl = 20;
    v->addr_at = 12;
    v->addr_len = 8;
  } else if (len >= 60 && (p[0] >> 4) == 6 && p[6] == 6) {
    if ((((uint32_t)p[4] << 8) | p[5]) + 40 != len) return 0;
    v->ihl = 40;
    v->addr_at = 8;
    v->addr_len = 32;
  } else {
    return 0;
  }
  const uint8_t* t = p + v->ihl;
  v->thl = (uint32_t)(t[12] >> 4) * 4;
  if (v->thl < 20 || v->ihl + v->thl >= len) return 0; /* no payload: nothing to glue */
  v->payload = len - v->ihl - v->thl;
  v->flags = t[13];
  memcpy(&v->seq, t + 4, 4);
  v->seq = ntohl(v->seq);
  return 1;
}

/* Whether the TCP or UDP checksum of the packet at p (its L4 header at ihl)
 * holds; an IPv4 UDP datagram without one (0) has nothing to hold. */
static int checksum_holds(const uint8_t* p, uint32_t len, uint32_t ihl, uint8_t proto) {
  if (proto == 17 && ihl == 20 && p[ihl + 6] == 0 && p[ihl + 7] == 0) return 1;
  return fold(sum_bytes(p + ihl, len - ihl, pseudo_sum(p, proto, len - ihl))) == 0xffff;
}

/* Packet k may join a run: not checked (unfinished is NULL), its checksum
 * unfinished (the kernel computes it), or complete and holding. */
static int may_join(const uint8_t* p, uint32_t len, uint32_t ihl, uint8_t proto, const uint8_t* unfinished, uint32_t k) {
  return !unfinished || unfinished[k] || checksum_holds(p, len, ihl, proto);
}

uint32_t tso_coalesce_run(uint8_t* const* pkts, const uint32_t* lens, uint32_t count, uint32_t max_total,
                          const uint8_t* unfinished) {
  tcp_view first, prev, cur;
  if (count < 2 || !view_tcp(pkts[0], lens[0], &first)) return 1;
  /* Plain ACK, or ACK+PSH; nothing else (FIN, SYN, RST, URG, ECN) is glued. */
  if ((first.flags & ~0x08) != 0x10 || (first.flags & 0x08)) return 1;
  prev = first;
  uint32_t total = lens[0], n = 1;
  const uint8_t* a = pkts[0];
  const uint8_t* ta = a + first.ihl;
  while (n < count) {
    const uint8_t* b = pkts[n];
    if (!view_tcp(b, lens[n], &cur) || cur.ihl != first.ihl) break; /* the same family */
    const uint8_t* tb = b + cur.ihl;
    if (cur.thl != first.thl || memcmp(a + first.addr_at, b + first.addr_at, first.addr_len) || memcmp(ta, tb, 4)) break; /* addresses, ports */
    if (memcmp(ta + 8, tb + 8, 4) || memcmp(ta + 14, tb + 14, 2)) break;                                         /* ack, window */
    if (first.thl > 20 && memcmp(ta + 20, tb + 20, first.thl - 20)) break;                                        /* options */
    if ((cur.flags & ~0x08) != 0x10) break;
    if (cur.seq != prev.seq + prev.payload || prev.payload != first.payload || cur.payload > first.payload) break;
    if (total + cur.payload > max_total) break;
    /* Checked only once a second packet matches: a packet written alone is the kernel's to check. */
    if (n == 1 && !may_join(a, lens[0], first.ihl, 6, unfinished, 0)) return 1;
    if (!may_join(b, lens[n], cur.ihl, 6, unfinished, n)) break;
    total += cur.payload;
    n++;
    prev = cur;
    if (cur.flags & 0x08) break; /* PSH ends a run */
  }
  return n;
}

uint32_t tso_header_len(const uint8_t* pkt, uint32_t len) {
  tcp_view v;
  return view_tcp(pkt, len, &v) ? v.ihl + v.thl : 0;
}

uint32_t tso_coalesce_header(uint8_t* first, uint32_t first_len, uint32_t total_len, uint8_t last_flags,
                             struct virtio_net_hdr* h) {
  tcp_view v = {0};
  view_tcp(first, first_len, &v);
  int v4 = v.ihl == 20;
  set_ip_length(first, v.ihl, total_len);
  if (v4) ip_checksum(first, 20);
  uint8_t* tcp = first + v.ihl;
  tcp[13] = (uint8_t)(tcp[13] | (last_flags & 0x08));
  /* A partial checksum: the pseudo-header sum the kernel finishes from csum_start. */
  uint16_t partial = fold(pseudo_sum(first, 6, total_len - v.ihl));
  memcpy(tcp + 16, &partial, 2);
  memset(h, 0, sizeof *h);
  h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h->gso_type = v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
  h->hdr_len = (uint16_t)(v.ihl + v.thl);
  h->gso_size = (uint16_t)v.payload;
  h->csum_start = (uint16_t)v.ihl;
  h->csum_offset = 16;
  return v.ihl + v.thl;
}

/* Header facts of a UDP datagram (IPv4 without options, or IPv6 without
 * extension headers) that may join a UDP super-packet; 0 if it cannot. */
static int view_udp(const uint8_t* p, uint32_t len, uint32_t* ihl, uint32_t* payload) {
  if (len >= 28 && p[0] == 0x45 && p[9] == 17) {
    if ((p[6] & 0x3f) || p[7]) return 0; /* a fragment */
    if ((((uint32_t)p[2] << 8) | p[3]) != len) return 0;
    *ihl = 20;
  } else if (len >= 48 && (p[0] >> 4) == 6 && p[6] == 17) {
    if ((((uint32_t)p[4] << 8) | p[5]) + 40 != len) return 0;
    *ihl = 40;
  } else {
    return 0;
  }
  if ((((uint32_t)p[*ihl + 4] << 8) | p[*ihl + 5]) != len - *ihl || len == *ihl + 8) return 0;
  *payload = len - *ihl - 8;
  return 1;
}

uint32_t uso_coalesce_run(uint8_t* const* pkts, const uint32_t* lens, uint32_t count, uint32_t max_segments, uint32_t max_total,
                          const uint8_t* unfinished) {
  uint32_t ihl, first, cur, cur_ihl;
  if (count < 2 || !view_udp(pkts[0], lens[0], &ihl, &first)) return 1;
  const uint8_t* a = pkts[0];
  /* What segmentation copies from the first header to every datagram must be
   * the same in all: version, traffic class or TOS, flow label, DF, TTL or
   * hop limit, addresses and ports. */
  uint32_t same_at = ihl == 20 ? 12 : 8, same_len = ihl == 20 ? 12 : 36;
  uint32_t total = lens[0], n = 1;
  while (n < count && n < max_segments) {
    const uint8_t* b = pkts[n];
    if (!view_udp(b, lens[n], &cur_ihl, &cur) || cur_ihl != ihl || cur > first || total + cur > max_total) break;
    if (memcmp(a + same_at, b + same_at, same_len)) break;
    if (ihl == 20 ? a[1] != b[1] || a[8] != b[8] || (a[6] & 0x40) != (b[6] & 0x40) : memcmp(a, b, 4) || a[7] != b[7]) break;
    if (n == 1 && !may_join(a, lens[0], ihl, 17, unfinished, 0)) return 1;
    if (!may_join(b, lens[n], ihl, 17, unfinished, n)) break;
    total += cur;
    n++;
    if (cur < first) break; /* a shorter one ends a run */
  }
  return n;
}

void uso_coalesce_header(uint8_t* first, uint32_t first_len, uint32_t total_len, struct virtio_net_hdr* h) {
  uint32_t ihl, payload;
  view_udp(first, first_len, &ihl, &payload);
  set_ip_length(first, ihl, total_len);
  if (ihl == 20) ip_checksum(first, 20);
  uint8_t* udp = first + ihl;
  uint16_t v = htons((uint16_t)(total_len - ihl));
  memcpy(udp + 4, &v, 2);
  /* A partial checksum, over the glued length: the kernel adjusts it for each datagram it cuts. */
  uint16_t partial = fold(pseudo_sum(first, 17, total_len - ihl));
  memcpy(udp + 6, &partial, 2);
  memset(h, 0, sizeof *h);
  h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h->gso_type = TSO_GSO_UDP_L4;
  h->hdr_len = (uint16_t)(ihl + 8);
  h->gso_size = (uint16_t)payload;
  h->csum_start = (uint16_t)ihl;
  h->csum_offset = 6;
}
