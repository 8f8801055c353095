/* Byte kernels for the TUN offloads: cutting a TCP super-packet the kernel
 * handed us (IFF_VNET_HDR + TUNSETOFFLOAD TSO4) into MTU-sized segments with
 * their headers and checksums, finishing a checksum the kernel left partial,
 * and gluing consecutive segments of one TCP flow back into a super-packet
 * the kernel cuts again (or passes whole over veth and bridges). */
#include "offload.h"

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <string.h>

/* Ones'-complement sum of len bytes, unfolded. */
static uint64_t sum_bytes(const uint8_t* p, size_t len, uint64_t sum) {
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    sum += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t h;
    memcpy(&h, p, 2);
    sum += h;
    p += 2;
    len -= 2;
  }
  if (len) sum += *p; /* the odd byte, padded with zero, as a little-endian load reads it */
  return sum;
}

static uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* Pseudo-header sum (network byte order words, as sum_bytes sees them). */
static uint64_t pseudo_sum(const uint8_t* ip, uint8_t proto, uint32_t l4_len) {
  uint64_t sum = sum_bytes(ip + 12, 8, 0);
  sum += htons(proto);
  sum += htons((uint16_t)l4_len);
  return sum;
}

static void ip_checksum(uint8_t* ip, uint32_t ihl) {
  ip[10] = ip[11] = 0;
  uint16_t c = (uint16_t)~fold(sum_bytes(ip, ihl, 0));
  memcpy(ip + 10, &c, 2);
}

static void tcp_checksum(uint8_t* ip, uint32_t ihl, uint32_t tcp_len) {
  uint8_t* tcp = ip + ihl;
  tcp[16] = tcp[17] = 0;
  uint16_t c = (uint16_t)~fold(sum_bytes(tcp, tcp_len, pseudo_sum(ip, 6, tcp_len)));
  memcpy(tcp + 16, &c, 2);
}

int tso_finish_checksum(uint8_t* pkt, uint32_t len, uint16_t start, uint16_t offset) {
  if ((uint32_t)start + offset + 2 > len) return -1;
  /* The field holds the pseudo-header sum already: summing from start covers it. */
  uint16_t c = (uint16_t)~fold(sum_bytes(pkt + start, len - start, 0));
  if (c == 0 && offset == 6) c = 0xffff; /* UDP (its field is at 6, TCP's at 16): 0 means "no checksum" */
  memcpy(pkt + start + offset, &c, 2);
  return 0;
}

int tso_segment_count(const uint8_t* pkt, uint32_t len, uint16_t gso_size, uint32_t room) {
  if (len < 20 || (pkt[0] >> 4) != 4 || pkt[9] != 6 || gso_size == 0) return -1;
  uint32_t ihl = (uint32_t)(pkt[0] & 15) * 4;
  if (ihl < 20 || ihl + 20 > len) return -1;
  uint32_t thl = (uint32_t)(pkt[ihl + 12] >> 4) * 4;
  if (thl < 20 || ihl + thl > len || ihl + thl + gso_size > room) return -1;
  uint32_t payload = len - ihl - thl;
  return payload == 0 ? 1 : (int)((payload + gso_size - 1) / gso_size);
}

uint32_t tso_segment(const uint8_t* pkt, uint32_t len, uint16_t gso_size, uint8_t* out, uint32_t stride,
                     uint32_t* lengths) {
  uint32_t ihl = (uint32_t)(pkt[0] & 15) * 4;
  uint32_t thl = (uint32_t)(pkt[ihl + 12] >> 4) * 4;
  uint32_t hlen = ihl + thl;
  uint32_t payload = len - hlen;
  uint32_t seq, n = 0;
  uint16_t id;
  memcpy(&seq, pkt + ihl + 4, 4);
  memcpy(&id, pkt + 4, 2);
  seq = ntohl(seq);
  id = ntohs(id);
  uint8_t flags = pkt[ihl + 13];
  for (uint32_t off = 0; off < payload || n == 0; off += gso_size, n++) {
    uint32_t seg = payload - off < gso_size ? payload - off : gso_size;
    uint8_t* o = out + (size_t)n * stride;
    memcpy(o, pkt, hlen);
    memcpy(o + hlen, pkt + hlen + off, seg);
    uint16_t total = htons((uint16_t)(hlen + seg));
    uint16_t this_id = htons((uint16_t)(id + n));
    uint32_t this_seq = htonl(seq + off);
    memcpy(o + 2, &total, 2);
    memcpy(o + 4, &this_id, 2);
    memcpy(o + ihl + 4, &this_seq, 4);
    int last = off + seg >= payload;
    /* FIN and PSH belong to the last segment, CWR to the first. */
    o[ihl + 13] = (uint8_t)(flags & ~((last ? 0 : 0x09) | (n == 0 ? 0 : 0x80)));
    ip_checksum(o, ihl);
    tcp_checksum(o, ihl, thl + seg);
    lengths[n] = hlen + seg;
    if (payload == 0) {
      n++;
      break;
    }
  }
  return n;
}

/* Header facts of a TCP/IPv4 packet that may join a super-packet; 0 if it cannot. */
typedef struct {
  uint32_t ihl, thl, payload, seq;
  uint8_t flags;
} tcp_view;

static int view_tcp(const uint8_t* p, uint32_t len, tcp_view* v) {
  if (len < 40 || p[0] != 0x45 || p[9] != 6) return 0; /* no IP options */
  if ((p[6] & 0x3f) || p[7]) return 0;                   /* a fragment */
  uint32_t total = ((uint32_t)p[2] << 8) | p[3];
  if (total != len) return 0;
  v->ihl = 20;
  v->thl = (uint32_t)(p[32] >> 4) * 4;
  if (v->thl < 20 || 20 + v->thl >= len) return 0; /* no payload: nothing to glue */
  v->payload = len - 20 - v->thl;
  v->flags = p[33];
  memcpy(&v->seq, p + 24, 4);
  v->seq = ntohl(v->seq);
  return 1;
}

uint32_t tso_coalesce_run(uint8_t* const* pkts, const uint32_t* lens, uint32_t count, uint32_t max_total) {
  tcp_view first, prev, cur;
  if (count < 2 || !view_tcp(pkts[0], lens[0], &first)) return 1;
  /* Plain ACK, or ACK+PSH; nothing else (FIN, SYN, RST, URG, ECN) is glued. */
  if ((first.flags & ~0x08) != 0x10 || (first.flags & 0x08)) return 1;
  prev = first;
  uint32_t total = lens[0], n = 1;
  const uint8_t* a = pkts[0];
  while (n < count) {
    const uint8_t* b = pkts[n];
    if (!view_tcp(b, lens[n], &cur)) break;
    if (cur.thl != first.thl || memcmp(a + 12, b + 12, 8) || memcmp(a + 20, b + 20, 4)) break; /* addresses, ports */
    if (memcmp(a + 28, b + 28, 4) || memcmp(a + 34, b + 34, 2)) break;                      /* ack, window */
    if (first.thl > 20 && memcmp(a + 40, b + 40, first.thl - 20)) break;                     /* options */
    if ((cur.flags & ~0x08) != 0x10) break;
    if (cur.seq != prev.seq + prev.payload || prev.payload != first.payload || cur.payload > first.payload) break;
    if (total + cur.payload > max_total) break;
    total += cur.payload;
    n++;
    prev = cur;
    if (cur.flags & 0x08) break; /* PSH ends a run */
  }
  return n;
}

uint32_t tso_coalesce_header(uint8_t* first, uint32_t first_len, uint32_t total_len, uint8_t last_flags,
                             struct virtio_net_hdr* h) {
  tcp_view v = {0};
  view_tcp(first, first_len, &v);
  uint16_t total = htons((uint16_t)total_len);
  memcpy(first + 2, &total, 2);
  ip_checksum(first, 20);
  first[33] = (uint8_t)(first[33] | (last_flags & 0x08));
  /* A partial checksum: the pseudo-header sum the kernel finishes from csum_start. */
  uint16_t partial = fold(pseudo_sum(first, 6, total_len - 20));
  memcpy(first + 36, &partial, 2);
  memset(h, 0, sizeof *h);
  h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  h->hdr_len = (uint16_t)(20 + v.thl);
  h->gso_size = (uint16_t)v.payload;
  h->csum_start = 20;
  h->csum_offset = 16;
  return 20 + v.thl;
}
