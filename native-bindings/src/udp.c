/* UDP endpoint: one non-blocking IPv4 socket, batches through recvmmsg/sendmmsg.
 * Peer addresses cross into JS as host-order uint32 + port, never as objects. */
#define _GNU_SOURCE
#include "addon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (bytes <= 0) return;
  /* FORCE ignores rmem_max/wmem_max (needs CAP_NET_ADMIN); fall back quietly. */
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) < 0)
    setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

/* udpOpen(address, port, rcvbuf, sndbuf) -> fd */
napi_value tso_udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  char address[64] = {0};
  size_t address_len;
  uint32_t port;
  int32_t rcvbuf, sndbuf;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || napi_get_value_string_utf8(env, argv[0], address, sizeof address, &address_len) != napi_ok ||
      !tso_arg_u32(env, argv[1], &port) || port > 65535 || !tso_arg_i32(env, argv[2], &rcvbuf) ||
      !tso_arg_i32(env, argv[3], &sndbuf))
    return tso_throw_range(env, "udpOpen(address, port, rcvbuf, sndbuf)");

  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, address, &sin.sin_addr) != 1) return tso_throw_range(env, "udpOpen: not an IPv4 address");

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return tso_throw_errno(env, "socket", errno);
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
  if (bind(fd, (struct sockaddr*)&sin, sizeof sin) < 0) {
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
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;
  if (getsockname(fd, (struct sockaddr*)&sin, &len) < 0) return tso_throw_errno(env, "getsockname", errno);
  return tso_int(env, ntohs(sin.sin_port));
}

/* udpRecv(fd, slab, slotSize, headroom, max, lengths, addrs, ports) -> count | -errno
 * lengths[i] is the datagram's real length (MSG_TRUNC): a value above
 * slotSize - headroom means the datagram did not fit and was cut. */
napi_value tso_udp_recv(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
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
  if (max > TSO_MAX_BATCH) max = TSO_MAX_BATCH;
  if (headroom >= slot || max > lengths_len || max > addrs_len || max > ports_len ||
      (size_t)max * slot > slab_len)
    return tso_throw_range(env, "udpRecv: batch does not fit the slab");

  struct mmsghdr msgs[TSO_MAX_BATCH];
  struct iovec iov[TSO_MAX_BATCH];
  struct sockaddr_in from[TSO_MAX_BATCH];
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
    addrs[i] = ntohl(from[i].sin_addr.s_addr);
    ports[i] = ntohs(from[i].sin_port);
  }
  return tso_int(env, n);
}

/* udpSend(fd, slab, offsets, lengths, addrs, ports, count) -> datagrams sent
 * A datagram the kernel refuses (no route to the peer, say) is skipped;
 * EAGAIN (send buffer full) ends the batch. The caller counts the rest as drops. */
napi_value tso_udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  int32_t fd;
  uint8_t* slab;
  size_t slab_len, offsets_len, lengths_len, addrs_len, ports_len;
  uint32_t *offsets, *lengths, *addrs, count;
  uint16_t* ports;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &slab, &slab_len) ||
      !tso_arg_typed(env, argv[2], napi_uint32_array, (void**)&offsets, &offsets_len) ||
      !tso_arg_typed(env, argv[3], napi_uint32_array, (void**)&lengths, &lengths_len) ||
      !tso_arg_typed(env, argv[4], napi_uint32_array, (void**)&addrs, &addrs_len) ||
      !tso_arg_typed(env, argv[5], napi_uint16_array, (void**)&ports, &ports_len) ||
      !tso_arg_u32(env, argv[6], &count))
    return tso_throw_range(env, "udpSend(fd, slab, offsets, lengths, addrs, ports, count)");
  if (count > TSO_MAX_BATCH || count > offsets_len || count > lengths_len || count > addrs_len ||
      count > ports_len)
    return tso_throw_range(env, "udpSend: count exceeds arrays");

  struct mmsghdr msgs[TSO_MAX_BATCH];
  struct iovec iov[TSO_MAX_BATCH];
  struct sockaddr_in to[TSO_MAX_BATCH];
  for (uint32_t i = 0; i < count; i++) {
    if ((size_t)offsets[i] + lengths[i] > slab_len) return tso_throw_range(env, "udpSend: datagram outside slab");
    iov[i].iov_base = slab + offsets[i];
    iov[i].iov_len = lengths[i];
    memset(&to[i], 0, sizeof to[i]);
    to[i].sin_family = AF_INET;
    to[i].sin_addr.s_addr = htonl(addrs[i]);
    to[i].sin_port = htons(ports[i]);
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = sizeof to[i];
  }
  uint32_t i = 0, sent = 0;
  while (i < count) {
    int r = sendmmsg(fd, msgs + i, count - i, MSG_DONTWAIT);
    if (r > 0) {
      i += (uint32_t)r;
      sent += (uint32_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && errno == EAGAIN) {
      break;
    } else {
      i++; /* the datagram at i failed on its own: skip it, keep the batch going */
    }
  }
  return tso_int(env, sent);
}
