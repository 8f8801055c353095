/* Module registration, the constants TypeScript checks at load, and the
 * argument helpers shared by tun.c, udp.c, poll.c, seal.c, handover.c. */
#define _GNU_SOURCE
#include "addon.h"

#include <sodium.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void tso_throw_last(napi_env env) {
  const napi_extended_error_info* info = NULL;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  napi_get_last_error_info(env, &info);
  napi_throw_type_error(env, NULL, info && info->error_message ? info->error_message : "napi call failed");
}

/* An Error shaped like Node's system errors: message "what: strerror",
 * code (ENOENT, EADDRINUSE...), errno, and syscall (what's first word), so
 * that TypeScript sorts failures by fields, never by message text. */
napi_value tso_throw_errno(napi_env env, const char* what, int err) {
  char msg[256];
  char syscall[64];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  snprintf(syscall, sizeof syscall, "%s", what);
  char* space = strchr(syscall, ' ');
  if (space) *space = 0;
  const char* code = strerrorname_np(err);
  napi_value error, message, value;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, err, &value);
  napi_set_named_property(env, error, "errno", value);
  napi_create_string_utf8(env, code ? code : "EUNKNOWN", NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "code", value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  napi_throw(env, error);
  return NULL;
}

napi_value tso_throw_range(napi_env env, const char* what) {
  napi_throw_range_error(env, NULL, what);
  return NULL;
}

int tso_arg_i32(napi_env env, napi_value v, int32_t* out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

int tso_arg_u32(napi_env env, napi_value v, uint32_t* out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

int tso_arg_buffer(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  return napi_get_buffer_info(env, v, (void**)data, len) == napi_ok;
}

int tso_arg_typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset) != napi_ok) return 0;
  return type == want;
}

napi_value tso_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

napi_value tso_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !tso_arg_i32(env, argv[0], &fd)) return tso_throw_range(env, "close(fd)");
  if (close(fd) < 0) return tso_throw_errno(env, "close", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  if (sodium_init() < 0) {
    napi_throw_error(env, NULL, "libsodium failed to initialise");
    return NULL;
  }
  napi_property_descriptor props[] = {
    {"tunOpen", NULL, tso_tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tunSetPersist", NULL, tso_tun_set_persist, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tunSetOffload", NULL, tso_tun_set_offload, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tunRead", NULL, tso_tun_read, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tunWrite", NULL, tso_tun_write, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udpOpen", NULL, tso_udp_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udpLocalPort", NULL, tso_udp_local_port, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udpSetTtl", NULL, tso_udp_set_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udpRecv", NULL, tso_udp_recv, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udpSend", NULL, tso_udp_send, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udpSendCut", NULL, tso_udp_send_cut, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tunReadVnet", NULL, tso_tun_read_vnet, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tunReadWhole", NULL, tso_tun_read_whole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udpRecvGro", NULL, tso_udp_recv_gro, NULL, NULL, NULL, napi_enumerable, NULL},

    {"sealBatch", NULL, tso_seal_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"openBatch", NULL, tso_open_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, tso_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pollStart", NULL, tso_poll_start, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pollStop", NULL, tso_poll_stop, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unixListen", NULL, tso_unix_listen, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unixAccept", NULL, tso_unix_accept, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unixConnect", NULL, tso_unix_connect, NULL, NULL, NULL, napi_enumerable, NULL},
    {"peerCredentials", NULL, tso_peer_credentials, NULL, NULL, NULL, napi_enumerable, NULL},
    {"fdSend", NULL, tso_fd_send, NULL, NULL, NULL, napi_enumerable, NULL},
    {"fdReceive", NULL, tso_fd_receive, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unixDatagram", NULL, tso_unix_datagram, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  /* One home for what both sides must agree on: TypeScript reads these, or checks its own against them. */
  static const struct { const char* name; uint32_t value; } constants[] = {
    {"TUN_VNET_HDR", TSO_TUN_VNET_HDR},
    {"TUN_OFFLOAD", TSO_TUN_OFFLOAD},
    {"TUN_WRITE_USO", TSO_TUN_WRITE_USO},
    {"TUN_WRITE_CHECK", TSO_TUN_WRITE_CHECK},
    {"SEAL_NONCE_AT", TSO_SEAL_NONCE_AT},
    {"SEAL_NONCE_SOURCE", TSO_SEAL_NONCE_SOURCE},
    {"SEAL_MAC_AT", TSO_SEAL_MAC_AT},
    {"SEAL_TEXT_AT", TSO_SEAL_TEXT_AT},
    {"SEAL_KEY_BYTES", crypto_secretbox_KEYBYTES},
  };
  for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    napi_value v;
    napi_create_uint32(env, constants[i].value, &v);
    napi_set_named_property(env, exports, constants[i].name, v);
  }
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
