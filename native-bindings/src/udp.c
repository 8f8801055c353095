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
#include "offload.h"

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

typedef union {
  char buf[CMSG_SPACE(sizeof(uint16_t))];
  struct cmsghdr align;
} segment_control;

/* Where a run of datagrams starting at i that one UDP_SEGMENT send can
 * carry ends: consecutive datagrams to one peer of one length (the last may
 * be shorter), up to the kernel's limits. */
/* iov[i] points at entry i of the slab; 0 when one lies outside it or is
 * shorter than min_len. */
static int slab_iovecs(struct iovec* iov, uint8_t* slab, size_t slab_len, const uint32_t* offsets, const uint32_t* lengths,
                       uint32_t count, uint32_t min_len) {
  for (uint32_t i = 0; i < count; i++) {
    if ((size_t)offsets[i] + lengths[i] > slab_len || lengths[i] < min_len) return 0;
    iov[i].iov_base = slab + offsets[i];
    iov[i].iov_len = lengths[i];
  }
  return 1;
}

static uint32_t run_end(const uint32_t* lengths, const uint32_t* addrs, const uint16_t* ports, uint32_t i, uint32_t count) {
  uint32_t seg = lengths[i], j = i + 1, total = seg;
  while (j < count && j - i < GSO_MAX_SEGMENTS && addrs[j] == addrs[i] && ports[j] == ports[i] && lengths[j] <= seg &&
         lengths[j - 1] == seg && total + lengths[j] <= GSO_MAX_BYTES) {
    total += lengths[j];
    j++;
  }
  return j;
}

/* One message of iovs pieces to `to`; segment != 0: a UDP_SEGMENT send cut at that size. */
static void set_message(struct mmsghdr* msg, struct iovec* iov, uint32_t iovs, struct sockaddr_storage* to, socklen_t to_len,
                        segment_control* control, uint32_t segment) {
  memset(&msg->msg_hdr, 0, sizeof msg->msg_hdr);
  msg->msg_hdr.msg_iov = iov;
  msg->msg_hdr.msg_iovlen = iovs;
  msg->msg_hdr.msg_name = to;
  msg->msg_hdr.msg_namelen = to_len;
  if (segment == 0) return;
  msg->msg_hdr.msg_control = control->buf;
  msg->msg_hdr.msg_controllen = sizeof control->buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg->msg_hdr);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  uint16_t s16 = (uint16_t)segment;
  memcpy(CMSG_DATA(c), &s16, sizeof s16);
}

/* sendmmsg of msgs[0, m), message q carrying entries [first[q], stop[q])
 * (whose status is 0 beforehand): a refused message's entries get its errno
 * and the next is tried; after EAGAIN (the send buffer is full) every entry
 * from the first unsent message's on has EAGAIN, and EAGAIN is returned. */
static int send_runs(int fd, struct mmsghdr* msgs, uint32_t m, const uint32_t* first, const uint32_t* stop, int32_t* status,
                     uint32_t count) {
  uint32_t k = 0;
  while (k < m) {
    int r = sendmmsg(fd, msgs + k, m - k, MSG_DONTWAIT);
    if (r > 0) {
      k += (uint32_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && errno == EAGAIN) {
      for (uint32_t d = first[k]; d < count; d++) status[d] = EAGAIN;
      return EAGAIN;
    } else {
      /* sendmmsg reports the first message's error: that one failed on its own (no route, say) */
      int err = r < 0 ? errno : EIO;
      for (uint32_t d = first[k]; d < stop[k]; d++) status[d] = err;
      k++;
    }
  }
  return 0;
}

static uint32_t count_sent(const int32_t* status, uint32_t count) {
  uint32_t sent = 0;
  for (uint32_t d = 0; d < count; d++) sent += status[d] == 0;
  return sent;
}

/* The arguments udpSend and udpSendCut end with, from argv[at]: addrs,
 * ports, status, count, gso[, peers6]. 0 when they are not that shape, -1
 * when peers6 is not a table, else 1; each array holds count entries. */
typedef struct {
  uint32_t* addrs;
  uint16_t* ports;
  int32_t* status;
  uint32_t count, gso;
  size_t addrs_len, ports_len, status_len;
  peer_table table;
} send_tail;
static int read_send_tail(napi_env env, napi_value* argv, size_t argc, size_t at, send_tail* t) {
  t->table = (peer_table){0, NULL, 0};
  if (argc < at + 5 || !tso_arg_typed(env, argv[at], napi_uint32_array, (void**)&t->addrs, &t->addrs_len) ||
      !tso_arg_typed(env, argv[at + 1], napi_uint16_array, (void**)&t->ports, &t->ports_len) ||
      !tso_arg_typed(env, argv[at + 2], napi_int32_array, (void**)&t->status, &t->status_len) ||
      !tso_arg_u32(env, argv[at + 3], &t->count) || !tso_arg_u32(env, argv[at + 4], &t->gso))
    return 0;
  if (argc > at + 5 && !read_table(env, argv[at + 5], &t->table)) return -1;
  return t->count <= TSO_MAX_SEND && t->count <= t->addrs_len && t->count <= t->ports_len && t->count <= t->status_len ? 1 : 0;
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
  size_t slab_len, offsets_len, lengths_len;
  uint32_t *offsets, *lengths;
  send_tail t;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int tail = read_send_tail(env, argv, argc, 4, &t);
  if (tail == -1) return tso_throw_range(env, "udpSend: peers6 is a buffer of 16-byte addresses");
  if (tail == 0 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &slab, &slab_len) ||
      !tso_arg_typed(env, argv[2], napi_uint32_array, (void**)&offsets, &offsets_len) ||
      !tso_arg_typed(env, argv[3], napi_uint32_array, (void**)&lengths, &lengths_len) || t.count > offsets_len ||
      t.count > lengths_len)
    return tso_throw_range(env, "udpSend(fd, slab, offsets, lengths, addrs, ports, status, count, gso[, peers6]): arrays of count entries");
  uint32_t *addrs = t.addrs, count = t.count, gso = t.gso;
  uint16_t* ports = t.ports;
  int32_t* status = t.status;
  const peer_table table = t.table;

  struct iovec iov[TSO_MAX_SEND];
  if (!slab_iovecs(iov, slab, slab_len, offsets, lengths, count, 0)) return tso_throw_range(env, "udpSend: datagram outside slab");
  struct mmsghdr msgs[TSO_MAX_BATCH];
  struct sockaddr_storage to[TSO_MAX_BATCH];
  segment_control control[TSO_MAX_BATCH];
  /* The datagrams of run m are [first[m], stop[m]). */
  uint32_t first[TSO_MAX_BATCH], stop[TSO_MAX_BATCH];
  uint32_t i = 0;
  while (i < count) {
    /* Up to TSO_MAX_BATCH runs per sendmmsg. */
    uint32_t m = 0;
    while (i < count && m < TSO_MAX_BATCH) {
      uint32_t j = gso ? run_end(lengths, addrs, ports, i, count) : i + 1;
      socklen_t to_len = destination(&to[m], addrs[i], ports[i], &table);
      for (uint32_t d = i; d < j; d++) status[d] = to_len == 0 ? EDESTADDRREQ : 0;
      if (to_len != 0) { /* a handle with no address is refused like an unroutable peer */
        set_message(&msgs[m], &iov[i], j - i, &to[m], to_len, &control[m], j - i > 1 ? lengths[i] : 0);
        first[m] = i;
        stop[m++] = j;
      }
      i = j;
    }
    if (send_runs(fd, msgs, m, first, stop, status, count) == EAGAIN) break;
  }
  return tso_int(env, count_sent(status, count));
}

/* udpSendCut(fd, slab, offsets, lengths, gsoSizes, prefix, lengthAt, addrs, ports, status, count, gso[, peers6]) -> entries sent
 * udpSend, for entries tunReadWhole read that may be TCP or
 * UDP super-packets (gsoSizes[i] != 0) behind a `prefix`-byte encapsulation
 * header (at offsets[i], counted in lengths[i]). Each is cut on the way
 * out: every datagram has the same prefix (but for the 16-bit length of its
 * segment's IP packet at lengthAt, big-endian, when lengthAt >= 0: a sleeve
 * frame's), its segment's own IP and TCP or UDP
 * headers (written to scratch) and its payload from the slab where it
 * lies, so the bytes are never copied in userspace; with gso, in
 * UDP_SEGMENT sends of up to GSO_MAX_BYTES, else one send each. status[i] is 0 if all of entry i went, else the first
 * errno among its sends. */
#define CUT_IOVS 2048
#define CUT_HEADERS 1024
#define CUT_HEADER_MAX 192 /* a prefix of up to 64 bytes, IP and TCP headers of up to 60 each */
#define CUT_SEGMENTS 128
static struct iovec cut_iov[CUT_IOVS];
static uint8_t cut_headers[CUT_HEADERS][CUT_HEADER_MAX];
napi_value tso_udp_send_cut(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  int32_t fd, length_at;
  uint8_t* slab;
  size_t slab_len, offsets_len, lengths_len, gso_len;
  uint32_t *offsets, *lengths, prefix;
  uint16_t* gso_sizes;
  send_tail t;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int tail = read_send_tail(env, argv, argc, 7, &t);
  if (tail == -1) return tso_throw_range(env, "udpSendCut: peers6 is a buffer of 16-byte addresses");
  if (tail == 0 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &slab, &slab_len) ||
      !tso_arg_typed(env, argv[2], napi_uint32_array, (void**)&offsets, &offsets_len) ||
      !tso_arg_typed(env, argv[3], napi_uint32_array, (void**)&lengths, &lengths_len) ||
      !tso_arg_typed(env, argv[4], napi_uint16_array, (void**)&gso_sizes, &gso_len) || !tso_arg_u32(env, argv[5], &prefix) ||
      !tso_arg_i32(env, argv[6], &length_at) || t.count > offsets_len || t.count > lengths_len || t.count > gso_len || prefix > 64 ||
      length_at < -1 || (length_at >= 0 && (uint32_t)length_at + 2 > prefix))
    return tso_throw_range(env,
                           "udpSendCut(fd, slab, offsets, lengths, gsoSizes, prefix, lengthAt, addrs, ports, status, count, gso[, peers6]): "
                           "arrays of count entries, a prefix of up to 64 bytes, lengthAt -1 or within it");
  uint32_t *addrs = t.addrs, count = t.count, gso = t.gso;
  uint16_t* ports = t.ports;
  int32_t* status = t.status;
  const peer_table table = t.table;

  struct iovec iov[TSO_MAX_SEND];
  if (!slab_iovecs(iov, slab, slab_len, offsets, lengths, count, prefix))
    return tso_throw_range(env, "udpSendCut: datagram outside slab");
  struct mmsghdr msgs[TSO_MAX_BATCH];
  struct sockaddr_storage to[TSO_MAX_BATCH];
  segment_control control[TSO_MAX_BATCH];
  uint32_t first[TSO_MAX_BATCH], stop[TSO_MAX_BATCH];
  uint32_t i = 0;
  while (i < count) {
    uint32_t m = 0, iovs = 0, headers = 0;
    /* Room for one more run: a message, and what the largest super-packet needs. */
    while (i < count && m < TSO_MAX_BATCH && iovs + 2 * CUT_SEGMENTS <= CUT_IOVS && headers + CUT_SEGMENTS <= CUT_HEADERS) {
      struct sockaddr_storage dest;
      socklen_t to_len = destination(&dest, addrs[i], ports[i], &table);
      if (gso_sizes[i] == 0) {
        uint32_t plain = i + 1; /* a run stops at the next super-packet */
        while (gso && plain < count && gso_sizes[plain] == 0 && plain - i < GSO_MAX_SEGMENTS) plain++;
        uint32_t j = run_end(lengths, addrs, ports, i, plain);
        for (uint32_t d = i; d < j; d++) status[d] = to_len == 0 ? EDESTADDRREQ : 0;
        if (to_len != 0) {
          to[m] = dest;
          set_message(&msgs[m], &iov[i], j - i, &to[m], to_len, &control[m], j - i > 1 ? lengths[i] : 0);
          first[m] = i;
          stop[m++] = j;
        }
        i = j;
        continue;
      }
      uint8_t* pkt = slab + offsets[i] + prefix;
      uint32_t len = lengths[i] - prefix, gso_size = gso_sizes[i];
      int cut = tso_segment_count(pkt, len, 0, (uint16_t)gso_size, 65535);
      uint32_t hlen = cut < 1 ? 0 : tso_cut_header_len(pkt, len);
      status[i] = to_len == 0 ? EDESTADDRREQ : cut < 1 || cut > CUT_SEGMENTS || prefix + hlen > CUT_HEADER_MAX ? EINVAL : 0;
      if (status[i] != 0) { /* EINVAL: not a super-packet tunReadWhole would have read */
        i++;
        continue;
      }
      uint32_t datagram = prefix + hlen + gso_size;
      uint32_t per_send = GSO_MAX_BYTES / datagram;
      if (per_send > GSO_MAX_SEGMENTS) per_send = GSO_MAX_SEGMENTS;
      if (per_send == 0 || !gso) per_send = 1;
      for (uint32_t k = 0; k < (uint32_t)cut;) {
        uint32_t in_send = (uint32_t)cut - k < per_send ? (uint32_t)cut - k : per_send;
        struct iovec* v = cut_iov + iovs;
        for (uint32_t q = 0; q < in_send; q++, k++) {
          uint8_t* hdr = cut_headers[headers++];
          memcpy(hdr, slab + offsets[i], prefix);
          uint32_t seg = tso_segment_header(pkt, len, (uint16_t)gso_size, k, hdr + prefix);
          if (length_at >= 0) {
            hdr[length_at] = (uint8_t)((hlen + seg) >> 8);
            hdr[length_at + 1] = (uint8_t)(hlen + seg);
          }
          cut_iov[iovs].iov_base = hdr;
          cut_iov[iovs++].iov_len = prefix + hlen;
          cut_iov[iovs].iov_base = pkt + hlen + (size_t)k * gso_size;
          cut_iov[iovs++].iov_len = seg;
        }
        to[m] = dest; /* each message its own copy: a flush below reuses the slots */
        set_message(&msgs[m], v, 2 * in_send, &to[m], to_len, &control[m], in_send > 1 ? datagram : 0);
        first[m] = i;
        stop[m++] = i + 1;
        if (k < (uint32_t)cut && m == TSO_MAX_BATCH) { /* the rest of it next round: its sends so far go first */
          if (send_runs(fd, msgs, m, first, stop, status, count) == EAGAIN) return tso_int(env, count_sent(status, count));
          m = iovs = headers = 0;
        }
      }
      i++;
    }
    if (send_runs(fd, msgs, m, first, stop, status, count) == EAGAIN) break;
  }
  return tso_int(env, count_sent(status, count));
}
