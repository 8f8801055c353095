/* Descriptors handed to a successor (launch --takeover): a unix stream
 * socket in the run dir and SCM_RIGHTS. Node passes descriptors only to its
 * own children, and the successor is no child. The calls block, each with a
 * deadline: both ends are on this host and the exchange is a few messages,
 * and the old daemon must not run its event loop while its state is in
 * flight. What the bytes mean is TypeScript's (daemon/handover.ts). */
#define _GNU_SOURCE
#include "addon.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Descriptors per message: the TUN, the UDP socket, the listener and a control connection per neighbour. */
#define MAX_FDS 250

static int unix_address(napi_env env, napi_value v, struct sockaddr_un* sun) {
  size_t len = 0;
  memset(sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  if (napi_get_value_string_utf8(env, v, sun->sun_path, sizeof sun->sun_path, &len) != napi_ok) return 0;
  return len > 0 && len < sizeof sun->sun_path - 1;
}

/* Waits until fd is readable (or writable); 0 on time-out. */
static int wait_for(int fd, short events, int32_t timeout_ms) {
  struct pollfd p = {.fd = fd, .events = events};
  int n;
  do n = poll(&p, 1, timeout_ms);
  while (n < 0 && errno == EINTR);
  return n;
}

/* The one argument of unixListen and unixConnect, the path, and a stream socket for it; -1 once thrown. */
static int path_and_socket(napi_env env, napi_callback_info info, const char* usage, struct sockaddr_un* sun) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !unix_address(env, argv[0], sun)) {
    tso_throw_range(env, usage);
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) tso_throw_errno(env, "socket", errno);
  return fd;
}

/* unixListen(path) -> fd: bound with mode 0600 (root's run dir), backlog 1. */
napi_value tso_unix_listen(napi_env env, napi_callback_info info) {
  struct sockaddr_un sun;
  int fd = path_and_socket(env, info, "unixListen(path)", &sun);
  if (fd < 0) return NULL;
  mode_t old = umask(0177);
  int bound = bind(fd, (struct sockaddr*)&sun, sizeof sun);
  umask(old);
  if (bound < 0 || listen(fd, 1) < 0) {
    int err = errno;
    close(fd);
    return tso_throw_errno(env, bound < 0 ? "bind" : "listen", err);
  }
  return tso_int(env, fd);
}

/* unixAccept(fd, timeoutMs) -> fd, or -1 on time-out. */
napi_value tso_unix_accept(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, timeout;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_i32(env, argv[1], &timeout)) return tso_throw_range(env, "unixAccept(fd, timeoutMs)");
  int ready = wait_for(fd, POLLIN, timeout);
  if (ready < 0) return tso_throw_errno(env, "poll", errno);
  if (ready == 0) return tso_int(env, -1);
  int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return tso_throw_errno(env, "accept", errno);
  return tso_int(env, conn);
}

/* unixConnect(path) -> fd */
napi_value tso_unix_connect(napi_env env, napi_callback_info info) {
  struct sockaddr_un sun;
  int fd = path_and_socket(env, info, "unixConnect(path)", &sun);
  if (fd < 0) return NULL;
  if (connect(fd, (struct sockaddr*)&sun, sizeof sun) < 0) {
    int err = errno;
    close(fd);
    return tso_throw_errno(env, "connect", err);
  }
  return tso_int(env, fd);
}

/* peerCredentials(fd) -> {pid, uid}: who is at the other end (SO_PEERCRED). */
napi_value tso_peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t fd;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !tso_arg_i32(env, argv[0], &fd)) return tso_throw_range(env, "peerCredentials(fd)");
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return tso_throw_errno(env, "getsockopt SO_PEERCRED", errno);
  TSO_CALL(env, napi_create_object(env, &out));
  napi_set_named_property(env, out, "pid", tso_int(env, cred.pid));
  napi_set_named_property(env, out, "uid", tso_int(env, cred.uid));
  return out;
}

/* fdSend(fd, data, fds, timeoutMs): all of data, the descriptors riding on its first byte. */
napi_value tso_fd_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd, timeout;
  uint8_t* data;
  size_t len, nfds;
  int32_t* fds;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &data, &len) || len == 0 ||
      !tso_arg_typed(env, argv[2], napi_int32_array, (void**)&fds, &nfds) || nfds > MAX_FDS || !tso_arg_i32(env, argv[3], &timeout))
    return tso_throw_range(env, "fdSend(fd, data, fds: Int32Array, timeoutMs)");
  char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
  size_t sent = 0;
  while (sent < len) {
    struct iovec iov = {.iov_base = data + sent, .iov_len = len - sent};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (sent == 0 && nfds > 0) {
      memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
      struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      int ready = wait_for(fd, POLLOUT, timeout);
      if (ready < 0) return tso_throw_errno(env, "poll", errno);
      if (ready == 0) return tso_throw_errno(env, "sendmsg", ETIMEDOUT);
      continue;
    }
    if (n < 0) return tso_throw_errno(env, "sendmsg", errno);
    sent += (size_t)n;
  }
  return NULL;
}

/* fdReceive(fd, buf, fdsOut: Int32Array, timeoutMs) -> {bytes, fds}: one read of up to buf's length
 * (bytes 0: the other end closed; -1: time-out), and how many descriptors came with it, stored in fdsOut. */
napi_value tso_fd_receive(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  int32_t fd, timeout;
  uint8_t* buf;
  size_t len, room;
  int32_t* fds_out;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &buf, &len) ||
      !tso_arg_typed(env, argv[2], napi_int32_array, (void**)&fds_out, &room) || !tso_arg_i32(env, argv[3], &timeout))
    return tso_throw_range(env, "fdReceive(fd, buf, fdsOut: Int32Array, timeoutMs)");
  int ready = wait_for(fd, POLLIN, timeout);
  if (ready < 0) return tso_throw_errno(env, "poll", errno);
  int64_t bytes = -1;
  uint32_t got = 0;
  if (ready > 0) {
    char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n;
    do n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return tso_throw_errno(env, "recvmsg", errno);
    bytes = n;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int* in = (int*)CMSG_DATA(c);
      for (size_t i = 0; i < count; i++) {
        /* More than the caller has room for: not ours to keep open. */
        if (got < room) fds_out[got++] = in[i];
        else close(in[i]);
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
      for (uint32_t i = 0; i < got; i++) close(fds_out[i]);
      return tso_throw_errno(env, "recvmsg (descriptors cut)", EMSGSIZE);
    }
  }
  TSO_CALL(env, napi_create_object(env, &out));
  napi_set_named_property(env, out, "bytes", tso_int(env, bytes));
  napi_set_named_property(env, out, "fds", tso_int(env, got));
  return out;
}

/* unixDatagram(path, data): one datagram to a unix socket ('@' first: the abstract namespace), as sd_notify sends its. */
napi_value tso_unix_datagram(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  struct sockaddr_un sun;
  uint8_t* data;
  size_t len;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !unix_address(env, argv[0], &sun) || !tso_arg_buffer(env, argv[1], &data, &len)) return tso_throw_range(env, "unixDatagram(path, data)");
  socklen_t size = sizeof sun;
  if (sun.sun_path[0] == '@') {
    sun.sun_path[0] = 0;
    size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sun.sun_path + 1) + 1);
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return tso_throw_errno(env, "socket", errno);
  ssize_t n = sendto(fd, data, len, MSG_NOSIGNAL, (struct sockaddr*)&sun, size);
  int err = errno;
  close(fd);
  if (n < 0) return tso_throw_errno(env, "sendto", err);
  return NULL;
}
