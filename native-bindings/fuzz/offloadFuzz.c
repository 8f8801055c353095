/* Fuzzes the offload byte kernels (../src/offload.c) under AddressSanitizer
 * and UBSan: every packet sits in a buffer of exactly its length, so any read
 * or write past it stops the run. Also checks a round trip: a TCP or UDP
 * super-packet cut into segments, glued back, and cut again gives the same
 * bytes. Usage: offloadFuzz ITERATIONS SEED; prints a summary, exit 0 on success. */
#include "../src/offload.c"

#include <stdio.h>
#include <stdlib.h>

static uint32_t state;
static uint32_t next(void) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}
static uint32_t below(uint32_t n) { return n ? next() % n : 0; }

/* RFC 1071 the slow way, 16-bit big-endian words: the reference the fast sum is checked against. */
static uint32_t ref_sum(const uint8_t* p, uint32_t len, uint32_t sum) {
  for (uint32_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)p[i] << 8 | p[i + 1];
  if (len & 1) sum += (uint32_t)p[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

/* Whether a cut segment's TCP or UDP (and IPv4 header) checksum verifies: the sums come to 0xffff. */
static int segment_verifies(const uint8_t* p, uint32_t len) {
  int v6 = (p[0] >> 4) == 6;
  uint32_t ihl = v6 ? 40 : (uint32_t)(p[0] & 15) * 4;
  if (!v6 && ref_sum(p, ihl, 0) != 0xffff) return 0;
  uint32_t l4 = len - ihl;
  uint8_t proto = v6 ? p[6] : p[9];
  if (proto == 17 && ((uint32_t)p[ihl + 4] << 8 | p[ihl + 5]) != l4) return 0;
  uint32_t pseudo = v6 ? ref_sum(p + 8, 32, 0) : ref_sum(p + 12, 8, 0);
  pseudo += proto + l4;
  return ref_sum(p + ihl, l4, pseudo) == 0xffff;
}

/* A TCP/IPv4 packet: 20-byte IP header, TCP header with thl bytes, payload. */
static uint32_t make_tcp(uint8_t* p, uint32_t thl, uint32_t payload, uint32_t seq, uint8_t flags) {
  uint32_t len = 20 + thl + payload;
  memset(p, 0, 20 + thl);
  p[0] = 0x45;
  p[2] = (uint8_t)(len >> 8);
  p[3] = (uint8_t)len;
  p[6] = 0x40;
  p[8] = 64;
  p[9] = 6;
  memcpy(p + 12, "\x0a\x28\x01\x02\x0a\x28\x02\x02", 8);
  p[20] = 0x30; p[21] = 0x39; p[22] = 0x00; p[23] = 0x50;
  uint32_t s = htonl(seq);
  memcpy(p + 24, &s, 4);
  p[32] = (uint8_t)((thl / 4) << 4);
  p[33] = flags;
  p[34] = 0x01; p[35] = 0xf5;
  for (uint32_t i = 40; i < 20 + thl; i++) p[i] = 1; /* NOP options, the same in every segment */
  for (uint32_t i = 20 + thl; i < len; i++) p[i] = (uint8_t)next();
  return len;
}

/* A TCP/IPv6 packet: 40-byte IPv6 header, TCP header with thl bytes, payload. */
static uint32_t make_tcp6(uint8_t* p, uint32_t thl, uint32_t payload, uint32_t seq, uint8_t flags) {
  uint32_t len = 40 + thl + payload;
  memset(p, 0, 40 + thl);
  p[0] = 0x60;
  p[4] = (uint8_t)((len - 40) >> 8);
  p[5] = (uint8_t)(len - 40);
  p[6] = 6;
  p[7] = 64;
  p[8] = 0xfd; p[23] = 2;
  p[24] = 0xfd; p[39] = 3;
  uint8_t* t = p + 40;
  t[0] = 0x30; t[1] = 0x39; t[2] = 0x00; t[3] = 0x50;
  uint32_t s = htonl(seq);
  memcpy(t + 4, &s, 4);
  t[12] = (uint8_t)((thl / 4) << 4);
  t[13] = flags;
  t[14] = 0x01; t[15] = 0xf5;
  for (uint32_t i = 20; i < thl; i++) t[i] = 1;
  for (uint32_t i = 40 + thl; i < len; i++) p[i] = (uint8_t)next();
  return len;
}

/* A UDP super-packet over IPv4 or IPv6: IP header, UDP header, payload (lengths for it all). */
static uint32_t make_udp(uint8_t* p, int six, uint32_t payload) {
  uint32_t ip = six ? 40 : 20, len = ip + 8 + payload;
  memset(p, 0, ip + 8);
  if (six) {
    p[0] = 0x60;
    p[4] = (uint8_t)((len - 40) >> 8);
    p[5] = (uint8_t)(len - 40);
    p[6] = 17;
    p[7] = 64;
    p[8] = 0xfd; p[23] = 2;
    p[24] = 0xfd; p[39] = 3;
  } else {
    p[0] = 0x45;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[8] = 64;
    p[9] = 17;
    memcpy(p + 12, "\x0a\x28\x01\x02\x0a\x28\x02\x02", 8);
  }
  uint8_t* u = p + ip;
  u[0] = 0x30; u[1] = 0x39; u[2] = 0x11; u[3] = 0x5c;
  u[4] = (uint8_t)((len - ip) >> 8);
  u[5] = (uint8_t)(len - ip);
  for (uint32_t i = ip + 8; i < len; i++) p[i] = (uint8_t)next();
  return len;
}

static uint8_t* exact(const uint8_t* src, uint32_t len) {
  uint8_t* p = malloc(len ? len : 1);
  memcpy(p, src, len);
  return p;
}

int main(int argc, char** argv) {
  uint32_t iterations = argc > 1 ? (uint32_t)atoi(argv[1]) : 100000;
  state = argc > 2 ? (uint32_t)atoi(argv[2]) | 1 : 1;
  static uint8_t work[70000], seg[128 * 2048], again[128 * 2048];
  uint32_t lengths[256], lengths2[256];
  unsigned long cut = 0, glued = 0, trips = 0, v6 = 0, udp_cut = 0, checked_runs = 0;
  for (uint32_t it = 0; it < iterations; it++) {
    int udp = below(3) == 0;
    uint32_t thl = udp ? 8 : 20 + 4 * below(11);
    uint32_t mss = 200 + below(1300);
    int six = below(2);
    uint32_t ip = six ? 40 : 20;
    uint32_t payload = below(65535 - ip - thl);
    uint8_t flags = (uint8_t)(0x10 | (below(2) ? 0x08 : 0));
    uint32_t len = udp ? make_udp(work, six, payload)
                 : six ? make_tcp6(work, thl, payload, next(), flags) : make_tcp(work, thl, payload, next(), flags);
    /* Mutate a few bytes and maybe the length, then hand out an exact-size copy. */
    int mutate = below(3) == 0;
    if (mutate) {
      for (uint32_t k = below(4) + 1; k; k--) work[below(len > 64 ? 64 : len)] = (uint8_t)next();
      if (below(2)) len = below(len + 1);
    }
    uint8_t* pkt = exact(work, len);
    uint32_t room = 2048;
    /* Asked for the other protocol, it is no super-packet of that kind. */
    if (!mutate && tso_segment_count(pkt, len, udp ? 6 : 17, (uint16_t)mss, room) != -1) { fprintf(stderr, "cut as the wrong protocol\n"); return 1; }
    int segments = tso_segment_count(pkt, len, udp ? 17 : 6, (uint16_t)mss, room);
    if (segments > 0 && segments <= 128) {
      uint32_t n = tso_segment(pkt, len, (uint16_t)mss, seg, room, lengths);
      if (n != (uint32_t)segments) { fprintf(stderr, "segment count %u != %d\n", n, segments); return 1; }
      cut++;
      v6 += six;
      udp_cut += udp;
      for (uint32_t i = 0; !mutate && i < n; i++)
        if (!segment_verifies(seg + (size_t)i * room, lengths[i])) { fprintf(stderr, "segment %u of %u: bad checksum\n", i, n); return 1; }
      /* Glue the segments back (each in an exact buffer), and cut again: the same bytes. */
      uint8_t* parts[128];
      for (uint32_t i = 0; i < n; i++) parts[i] = exact(seg + (size_t)i * room, lengths[i]);
      uint32_t run = udp ? uso_coalesce_run(parts, lengths, n, 128, 65535, NULL) : tso_coalesce_run(parts, lengths, n, 65535, NULL);
      if (!mutate && n > 1) {
        /* Checked: the same run while every checksum holds; with one payload byte of segment k
         * changed, the run stops before k (k = 0: the first goes alone), unless k is marked unfinished. */
        static uint8_t unfinished[128];
        memset(unfinished, 0, n);
        #define CHECKED_RUN() (udp ? uso_coalesce_run(parts, lengths, n, 128, 65535, unfinished) : tso_coalesce_run(parts, lengths, n, 65535, unfinished))
        if (CHECKED_RUN() != run) { fprintf(stderr, "checked run %u != %u with every checksum holding\n", CHECKED_RUN(), run); return 1; }
        uint32_t k = below(n), hl = ip + thl;
        if (lengths[k] > hl) {
          uint8_t* byte = parts[k] + hl + below(lengths[k] - hl);
          *byte ^= (uint8_t)(1 + below(255));
          uint32_t checked = CHECKED_RUN();
          if (k == 0 ? checked != 1 : checked > k) { fprintf(stderr, "segment %u of %u with a bad checksum glued (run %u)\n", k, n, checked); return 1; }
          unfinished[k] = 1;
          if (CHECKED_RUN() != run) { fprintf(stderr, "an unfinished segment %u refused\n", k); return 1; }
          checked_runs++;
          *byte = seg[(size_t)k * room + (size_t)(byte - parts[k])];
        }
        #undef CHECKED_RUN
      }
      if (run > 1) {
        glued++;
        uint32_t hlen = udp ? tso_cut_header_len(parts[0], lengths[0]) : tso_header_len(parts[0], lengths[0]);
        if (!mutate && hlen != ip + thl) { fprintf(stderr, "header length %u != %u\n", hlen, ip + thl); return 1; }
        uint32_t total = lengths[0];
        for (uint32_t k = 1; k < run; k++) total += lengths[k] - hlen;
        static uint8_t whole[70000];
        struct virtio_net_hdr h;
        uint8_t* first = exact(parts[0], lengths[0]);
        if (udp) uso_coalesce_header(first, lengths[0], total, &h);
        else tso_coalesce_header(first, lengths[0], total, parts[run - 1][ip + 13], &h);
        uint8_t want = udp ? TSO_GSO_UDP_L4 : six ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
        if (!mutate && (h.gso_type != want || h.csum_start != ip || h.csum_offset != (udp ? 6 : 16))) { fprintf(stderr, "vnet header of the wrong kind\n"); return 1; }
        memcpy(whole, first, lengths[0]);
        uint32_t at = lengths[0];
        for (uint32_t k = 1; k < run; k++) {
          memcpy(whole + at, parts[k] + hlen, lengths[k] - hlen);
          at += lengths[k] - hlen;
        }
        free(first);
        if (!mutate && run == n) {
          uint32_t n2 = tso_segment(whole, total, h.gso_size, again, room, lengths2);
          if (n2 != n) { fprintf(stderr, "round trip: %u segments, then %u\n", n, n2); return 1; }
          for (uint32_t i = 0; i < n; i++) {
            if (lengths2[i] != lengths[i] || memcmp(again + (size_t)i * room, seg + (size_t)i * room, lengths[i])) {
              fprintf(stderr, "round trip: segment %u differs\n", i);
              return 1;
            }
          }
          trips++;
        }
      }
      for (uint32_t i = 0; i < n; i++) free(parts[i]);
    }
    /* A partial checksum anywhere in the packet. */
    tso_finish_checksum(pkt, len, (uint16_t)below(len + 8), (uint16_t)below(40));
    free(pkt);
  }
  printf("{\"iterations\": %u, \"cut\": %lu, \"cutIPv6\": %lu, \"cutUDP\": %lu, \"glued\": %lu, \"checkedRuns\": %lu, \"roundTrips\": %lu}\n", iterations, cut, v6, udp_cut, glued, checked_runs, trips);
  return 0;
}
