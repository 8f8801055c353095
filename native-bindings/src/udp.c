/* UDP endpoint: one non-blocking socket, batches through recvmmsg/sendmmsg.
 * Peer addresses cross into JS as host-order uint32 + port, never as objects.
 * An IPv4 socket's peers are their IPv4 addresses. An IPv6 socket (bound to
 * an IPv6 address, dual stack) also reaches IPv4 peers, as v4-mapped
 * addresses, still named by their IPv4 number; an IPv6 peer is named by a
 * handle, PEER6_BASE + i, for the address at peers6[16 i] — a table JS keeps
 * and passes with each call. 240.0.0.0/4 is no peer's address, so handles
 * and IPv4 numbers never meet. */
#define _GNU_SOURCE
#include "addon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (bytes <= 0) return;
  /* FORCE ignores rmem_max/wmem_max (needs CAP_NET_ADMIN); fall back quietly. */
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) < 0)
    setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
/* The kernel's UDP_MAX_SEGMENTS on older kernels; newer ones take 128. */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000

#define PEER6_BASE 0xF0000000u
/* The handle of an IPv6 source that is in no table entry: counted as an unknown peer. */
#define PEER6_UNKNOWN 0xFFFFFFFFu

typedef struct {
  int v6; /* 0: an IPv4 socket */
  const uint8_t* addrs;
  uint32_t count;
} peer_table;

/* An absent (undefined) table is an IPv4 socket's. */
static int read_table(napi_env env, napi_value v, peer_table* t) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) == napi_ok && type == napi_undefined) return 1;
  uint8_t* data;
  size_t len;
  if (!tso_arg_buffer(env, v, &data, &len) || len % 16 != 0) return 0;
  t->v6 = 1;
  t->addrs = data;
  t->count = (uint32_t)(len / 16);
  return 1;
}

/* The JS name of a datagram's source. */
static uint32_t source_handle(const struct sockaddr_storage* from, const peer_table* t) {
  if (from->ss_family == AF_INET) return ntohl(((const struct sockaddr_in*)from)->sin_addr.s_addr);
  const struct in6_addr* a = &((const struct sockaddr_in6*)from)->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(a)) {
    uint32_t v4;
    memcpy(&v4, a->s6_addr + 12, 4);
    return ntohl(v4);
  }
  for (uint32_t i = 0; i < t->count; i++)
    if (memcmp(t->addrs + 16 * (size_t)i, a->s6_addr, 16) == 0) return PEER6_BASE + i;
  return PEER6_UNKNOWN;
}

static uint16_t source_port(const struct sockaddr_storage* from) {
  return ntohs(from->ss_family == AF_INET ? ((const struct sockaddr_in*)from)->sin_port : ((const struct sockaddr_in6*)from)->sin6_port);
}

/* Fills `to` for a peer; its length, or 0 for a handle with no table entry. */
static socklen_t destination(struct sockaddr_storage* to, uint32_t peer, uint16_t port, const peer_table* t) {
  memset(to, 0, sizeof *to);
  if (!t->v6) {
    struct sockaddr_in* sin = (struct sockaddr_in*)to;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(peer);
    sin->sin_port = htons(port);
    return sizeof *sin;
  }
  struct sockaddr_in6* sin6 = (struct sockaddr_in6*)to;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  if (peer >= PEER6_BASE) {
    if (peer - PEER6_BASE >= t->count) return 0;
    memcpy(sin6->sin6_addr.s6_addr, t->addrs + 16 * (size_t)(peer - PEER6_BASE), 16);
  } else {
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    uint32_t v4 = htonl(peer);
    memcpy(sin6->sin6_addr.s6_addr + 12, &v4, 4);
  }
  return sizeof *sin6;
}

/* udpOpen(address, port, rcvbuf, sndbuf[, gro]) -> fd */
napi_value tso_udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  char address[64] = {0};
  size_t address_len;
  uint32_t port, gro = 0;
  int32_t rcvbuf, sndbuf;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || napi_get_value_string_utf8(env, argv[0], address, sizeof address, &address_len) != napi_ok ||
      !tso_arg_u32(env, argv[1], &port) || port > 65535 || !tso_arg_i32(env, argv[2], &rcvbuf) ||
      !tso_arg_i32(env, argv[3], &sndbuf))
    return tso_throw_range(env, "udpOpen(address, port, rcvbuf, sndbuf)");
  if (argc >= 5 && !tso_arg_u32(env, argv[4], &gro)) return tso_throw_range(env, "udpOpen: gro");

  struct sockaddr_storage ss;
  socklen_t ss_len;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in* sin = (struct sockaddr_in*)&ss;
  struct sockaddr_in6* sin6 = (struct sockaddr_in6*)&ss;
  if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    ss_len = sizeof *sin;
  } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    ss_len = sizeof *sin6;
  } else {
    return tso_throw_range(env, "udpOpen: not an IPv4 or IPv6 address");
  }

  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return tso_throw_errno(env, "socket", errno);
  int off = 0;
  /* Dual stack: IPv4 peers through the same socket, as v4-mapped addresses. */
  if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) {
    int err = errno;
    close(fd);
    return tso_throw_errno(env, "setsockopt IPV6_V6ONLY", err);
  }
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
  int on = 1;
  if (gro && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on) < 0) {
    int err = errno;
    close(fd);
    return tso_throw_errno(env, "setsockopt UDP_GRO", err);
  }
  if (bind(fd, (struct sockaddr*)&ss, ss_len) < 0) {
    int err = errno;
    close(fd);
    return tso_throw_errno(env, "bind", err);
  }
  return tso_int(env, fd);
}

/* udpLocalPort(fd) -> the bound port (useful after binding port 0) */
napi_value tso_udp_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !tso_arg_i32(env, argv[0], &fd)) return tso_throw_range(env, "udpLocalPort(fd)");
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr*)&ss, &len) < 0) return tso_throw_errno(env, "getsockname", errno);
  return tso_int(env, source_port(&ss));
}

/* udpSetTtl(fd, ttl): the TTL of datagrams sent from now on (IP_TTL); -1: the system's default again */
napi_value tso_udp_set_ttl(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, ttl;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_i32(env, argv[1], &ttl) || ttl < -1 || ttl == 0 || ttl > 255)
    return tso_throw_range(env, "udpSetTtl(fd, ttl 1-255 or -1)");
  int value = ttl;
  if (setsockopt(fd, IPPROTO_IP, IP_TTL, &value, sizeof value) < 0) return tso_throw_errno(env, "setsockopt", errno);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  /* An IPv6 socket: its IPv6 peers' hop limit too (IP_TTL covers the v4-mapped ones). */
  if (getsockname(fd, (struct sockaddr*)&ss, &len) == 0 && ss.ss_family == AF_INET6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &value, sizeof value) < 0)
    return tso_throw_errno(env, "setsockopt", errno);
  return NULL;
}

/* udpRecv(fd, slab, slotSize, headroom, max, lengths, addrs, ports[, peers6]) -> count | -errno
 * lengths[i] is the datagram's real length (MSG_TRUNC): a value above
 * slotSize - headroom means the datagram did not fit and was cut. peers6:
 * an IPv6 socket's table (above). */
napi_value tso_udp_recv(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  int32_t fd;
  uint8_t* slab;
  size_t slab_len, lengths_len, addrs_len, ports_len;
  uint32_t slot, headroom, max;
  uint32_t *lengths, *addrs;
  uint16_t* ports;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &slab, &slab_len) ||
      !tso_arg_u32(env, argv[2], &slot) || !tso_arg_u32(env, argv[3], &headroom) ||
      !tso_arg_u32(env, argv[4], &max) ||
      !tso_arg_typed(env, argv[5], napi_uint32_array, (void**)&lengths, &lengths_len) ||
      !tso_arg_typed(env, argv[6], napi_uint32_array, (void**)&addrs, &addrs_len) ||
      !tso_arg_typed(env, argv[7], napi_uint16_array, (void**)&ports, &ports_len))
    return tso_throw_range(env, "udpRecv(fd, slab, slotSize, headroom, max, lengths, addrs, ports)");
  peer_table table = {0, NULL, 0};
  if (argc >= 9 && !read_table(env, argv[8], &table)) return tso_throw_range(env, "udpRecv: peers6 is a buffer of 16-byte addresses");
  if (max > TSO_MAX_BATCH) max = TSO_MAX_BATCH;
  if (headroom >= slot || max > lengths_len || max > addrs_len || max > ports_len ||
      (size_t)max * slot > slab_len)
    return tso_throw_range(env, "udpRecv: batch does not fit the slab");

  struct mmsghdr msgs[TSO_MAX_BATCH];
  struct iovec iov[TSO_MAX_BATCH];
  struct sockaddr_storage from[TSO_MAX_BATCH];
  for (uint32_t i = 0; i < max; i++) {
    iov[i].iov_base = slab + (size_t)i * slot + headroom;
    iov[i].iov_len = slot - headroom;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  int n;
  do n = recvmmsg(fd, msgs, max, MSG_DONTWAIT | MSG_TRUNC, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return tso_int(env, errno == EAGAIN ? 0 : -errno);
  for (int i = 0; i < n; i++) {
    lengths[i] = msgs[i].msg_len;
    addrs[i] = source_handle(&from[i], &table);
    ports[i] = source_port(&from[i]);
  }
  return tso_int(env, n);
}

/* udpRecvGro(fd, slab, msgSize, msgs, offsets, lengths, addrs, ports[, peers6]) -> datagrams | -errno
 * recvmmsg into msgs regions of msgSize bytes; a region the kernel filled
 * with several coalesced datagrams (UDP_GRO) is reported as those datagrams:
 * offsets[i] and lengths[i] into the slab. A cut region is one entry whose
 * length exceeds msgSize. */
napi_value tso_udp_recv_gro(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  int32_t fd;
  uint8_t* slab;
  size_t slab_len, offsets_len, lengths_len, addrs_len, ports_len;
  uint32_t msg_size, max;
  uint32_t *offsets, *lengths, *addrs;
  uint16_t* ports;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &slab, &slab_len) ||
      !tso_arg_u32(env, argv[2], &msg_size) || !tso_arg_u32(env, argv[3], &max) ||
      !tso_arg_typed(env, argv[4], napi_uint32_array, (void**)&offsets, &offsets_len) ||
      !tso_arg_typed(env, argv[5], napi_uint32_array, (void**)&lengths, &lengths_len) ||
      !tso_arg_typed(env, argv[6], napi_uint32_array, (void**)&addrs, &addrs_len) ||
      !tso_arg_typed(env, argv[7], napi_uint16_array, (void**)&ports, &ports_len))
    return tso_throw_range(env, "udpRecvGro(fd, slab, msgSize, msgs, offsets, lengths, addrs, ports)");
  peer_table table = {0, NULL, 0};
  if (argc >= 9 && !read_table(env, argv[8], &table)) return tso_throw_range(env, "udpRecvGro: peers6 is a buffer of 16-byte addresses");
  if (max > TSO_MAX_BATCH) max = TSO_MAX_BATCH;
  size_t out_max = offsets_len < lengths_len ? offsets_len : lengths_len;
  if (addrs_len < out_max) out_max = addrs_len;
  if (ports_len < out_max) out_max = ports_len;
  if ((size_t)max * msg_size > slab_len || out_max < (size_t)max * GSO_MAX_SEGMENTS * 2)
    return tso_throw_range(env, "udpRecvGro: batch does not fit the slab or the arrays");

  struct mmsghdr msgs[TSO_MAX_BATCH];
  struct iovec iov[TSO_MAX_BATCH];
  struct sockaddr_storage from[TSO_MAX_BATCH];
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control[TSO_MAX_BATCH];
  for (uint32_t i = 0; i < max; i++) {
    iov[i].iov_base = slab + (size_t)i * msg_size;
    iov[i].iov_len = msg_size;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    msgs[i].msg_hdr.msg_control = control[i].buf;
    msgs[i].msg_hdr.msg_controllen = sizeof control[i].buf;
  }
  int n;
  do n = recvmmsg(fd, msgs, max, MSG_DONTWAIT | MSG_TRUNC, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return tso_int(env, errno == EAGAIN ? 0 : -errno);
  uint32_t out = 0;
  for (int i = 0; i < n; i++) {
    uint32_t len = msgs[i].msg_len;
    uint32_t seg = len;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
        int v;
        memcpy(&v, CMSG_DATA(c), sizeof v);
        if (v > 0) seg = (uint32_t)v;
      }
    }
    uint32_t addr = source_handle(&from[i], &table);
    uint16_t port = source_port(&from[i]);
    size_t base = (size_t)i * msg_size;
    if (len > msg_size || seg == 0 || len / seg >= GSO_MAX_SEGMENTS * 2) seg = len; /* cut, or not ours to split */
    for (uint32_t at = 0; at < len || at == 0; at += seg) {
      offsets[out] = (uint32_t)(base + at);
      lengths[out] = len - at < seg ? len - at : seg;
      addrs[out] = addr;
      ports[out] = port;
      out++;
      if (len == 0) break;
    }
  }
  return tso_int(env, out);
}

/* udpSend(fd, slab, offsets, lengths, addrs, ports, status, count, gso[, peers6]) -> datagrams sent
 * With gso, each run of consecutive datagrams to one peer with one length
 * (the last may be shorter) leaves as a single UDP_SEGMENT send: the kernel
 * cuts it, or hands it whole to a peer that takes UDP_GRO. status[i] is 0
 * for a datagram sent, else the errno of its send (a run shares one): a
 * refused run (no route to that peer, say) is passed over and the next one
 * tried; after EAGAIN (send buffer full) nothing more is, and the rest have
 * EAGAIN. What to count is TypeScript's business. */
napi_value tso_udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  int32_t fd;
  uint8_t* slab;
  size_t slab_len, offsets_len, lengths_len, addrs_len, ports_len, status_len;
  uint32_t *offsets, *lengths, *addrs, count, gso;
  uint16_t* ports;
  int32_t* status;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &slab, &slab_len) ||
      !tso_arg_typed(env, argv[2], napi_uint32_array, (void**)&offsets, &offsets_len) ||
      !tso_arg_typed(env, argv[3], napi_uint32_array, (void**)&lengths, &lengths_len) ||
      !tso_arg_typed(env, argv[4], napi_uint32_array, (void**)&addrs, &addrs_len) ||
      !tso_arg_typed(env, argv[5], napi_uint16_array, (void**)&ports, &ports_len) ||
      !tso_arg_typed(env, argv[6], napi_int32_array, (void**)&status, &status_len) ||
      !tso_arg_u32(env, argv[7], &count) || !tso_arg_u32(env, argv[8], &gso))
    return tso_throw_range(env, "udpSend(fd, slab, offsets, lengths, addrs, ports, status, count, gso)");
  peer_table table = {0, NULL, 0};
  if (argc >= 10 && !read_table(env, argv[9], &table)) return tso_throw_range(env, "udpSend: peers6 is a buffer of 16-byte addresses");
  if (count > TSO_MAX_SEND || count > offsets_len || count > lengths_len || count > addrs_len || count > ports_len ||
      count > status_len)
    return tso_throw_range(env, "udpSend: count exceeds arrays");

  struct iovec iov[TSO_MAX_SEND];
  for (uint32_t i = 0; i < count; i++) {
    if ((size_t)offsets[i] + lengths[i] > slab_len) return tso_throw_range(env, "udpSend: datagram outside slab");
    iov[i].iov_base = slab + offsets[i];
    iov[i].iov_len = lengths[i];
  }
  struct mmsghdr msgs[TSO_MAX_BATCH];
  struct sockaddr_storage to[TSO_MAX_BATCH];
  union { char buf[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr align; } control[TSO_MAX_BATCH];
  /* The datagrams of run m are [first[m], stop[m]). */
  uint32_t first[TSO_MAX_BATCH], stop[TSO_MAX_BATCH];
  uint32_t sent = 0, i = 0;
  while (i < count) {
    /* Up to TSO_MAX_BATCH runs per sendmmsg. */
    uint32_t m = 0;
    while (i < count && m < TSO_MAX_BATCH) {
      uint32_t seg = lengths[i], j = i + 1, total = seg;
      while (gso && j < count && j - i < GSO_MAX_SEGMENTS && addrs[j] == addrs[i] && ports[j] == ports[i] &&
             lengths[j] <= seg && lengths[j - 1] == seg && total + lengths[j] <= GSO_MAX_BYTES) {
        total += lengths[j];
        j++;
      }
      socklen_t to_len = destination(&to[m], addrs[i], ports[i], &table);
      if (to_len == 0) { /* a handle with no address: refused like an unroutable peer */
        for (uint32_t d = i; d < j; d++) status[d] = EDESTADDRREQ;
        i = j;
        continue;
      }
      memset(&msgs[m].msg_hdr, 0, sizeof msgs[m].msg_hdr);
      msgs[m].msg_hdr.msg_iov = &iov[i];
      msgs[m].msg_hdr.msg_iovlen = j - i;
      msgs[m].msg_hdr.msg_name = &to[m];
      msgs[m].msg_hdr.msg_namelen = to_len;
      if (j - i > 1) {
        msgs[m].msg_hdr.msg_control = control[m].buf;
        msgs[m].msg_hdr.msg_controllen = sizeof control[m].buf;
        struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t s16 = (uint16_t)seg;
        memcpy(CMSG_DATA(c), &s16, sizeof s16);
      }
      first[m] = i;
      stop[m++] = j;
      i = j;
    }
    uint32_t k = 0;
    while (k < m) {
      int r = sendmmsg(fd, msgs + k, m - k, MSG_DONTWAIT);
      if (r > 0) {
        for (uint32_t q = k; q < k + (uint32_t)r; q++) {
          for (uint32_t d = first[q]; d < stop[q]; d++) status[d] = 0;
          sent += stop[q] - first[q];
        }
        k += (uint32_t)r;
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else if (r < 0 && errno == EAGAIN) {
        for (uint32_t d = first[k]; d < count; d++) status[d] = EAGAIN;
        return tso_int(env, sent);
      } else {
        /* sendmmsg reports the first run's error: that run failed on its own (no route, say) */
        int err = r < 0 ? errno : EIO;
        for (uint32_t d = first[k]; d < stop[k]; d++) status[d] = err;
        k++;
      }
    }
  }
  return tso_int(env, sent);
}
