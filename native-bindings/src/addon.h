/* Shared helpers for the tsoverlay addon: argument unpacking and errors.
 * The addon does system calls and bulk byte work only; every decision
 * (routing, framing, what to drop) is made in TypeScript. */
#ifndef TSOVERLAY_ADDON_H
#define TSOVERLAY_ADDON_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound of one batch: the mmsghdr arrays live on the C stack. */
#define TSO_MAX_BATCH 256
/* Upper bound of packets handed to one send or TUN write (GRO batches hold many per slot). */
#define TSO_MAX_SEND 4096

/* tunOpen option bits. */
#define TSO_TUN_VNET_HDR 1
/* With VNET_HDR: ask for TCP super-packets and partial checksums (TUNSETOFFLOAD). */
#define TSO_TUN_OFFLOAD 4
/* tunWrite's vnet argument: 1, the device has virtio-net headers; | 2, it took USO too. */
#define TSO_TUN_WRITE_USO 2
/* tunWrite: a packet with a complete checksum joins a glued run only if the checksum holds. */
#define TSO_TUN_WRITE_CHECK 4

/* A sealed sleeve datagram at its start: [4 bytes][nonce source 12][MAC 16][text]. */
#define TSO_SEAL_NONCE_AT 4
#define TSO_SEAL_NONCE_SOURCE 12
#define TSO_SEAL_MAC_AT 16
#define TSO_SEAL_TEXT_AT 32

#define TSO_CALL(env, call)                                   \
  do {                                                        \
    if ((call) != napi_ok) {                                  \
      tso_throw_last(env);                                    \
      return NULL;                                            \
    }                                                         \
  } while (0)

void tso_throw_last(napi_env env);
napi_value tso_throw_errno(napi_env env, const char* what, int err);
napi_value tso_throw_range(napi_env env, const char* what);

int tso_arg_i32(napi_env env, napi_value v, int32_t* out);
int tso_arg_u32(napi_env env, napi_value v, uint32_t* out);
int tso_arg_buffer(napi_env env, napi_value v, uint8_t** data, size_t* len);
/* A typed array of the given element type; len is in elements. */
int tso_arg_typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len);
napi_value tso_int(napi_env env, int64_t v);

napi_value tso_tun_open(napi_env env, napi_callback_info info);
napi_value tso_tun_set_persist(napi_env env, napi_callback_info info);
napi_value tso_tun_set_offload(napi_env env, napi_callback_info info);
napi_value tso_tun_read(napi_env env, napi_callback_info info);
napi_value tso_tun_write(napi_env env, napi_callback_info info);
napi_value tso_tun_read_vnet(napi_env env, napi_callback_info info);
napi_value tso_tun_read_whole(napi_env env, napi_callback_info info);
napi_value tso_udp_recv_gro(napi_env env, napi_callback_info info);

napi_value tso_udp_open(napi_env env, napi_callback_info info);
napi_value tso_udp_local_port(napi_env env, napi_callback_info info);
napi_value tso_udp_set_ttl(napi_env env, napi_callback_info info);
napi_value tso_udp_recv(napi_env env, napi_callback_info info);
napi_value tso_udp_send(napi_env env, napi_callback_info info);
napi_value tso_udp_send_cut(napi_env env, napi_callback_info info);
napi_value tso_seal_batch(napi_env env, napi_callback_info info);
napi_value tso_open_batch(napi_env env, napi_callback_info info);
napi_value tso_close(napi_env env, napi_callback_info info);
napi_value tso_poll_start(napi_env env, napi_callback_info info);
napi_value tso_poll_stop(napi_env env, napi_callback_info info);
napi_value tso_unix_listen(napi_env env, napi_callback_info info);
napi_value tso_unix_accept(napi_env env, napi_callback_info info);
napi_value tso_unix_connect(napi_env env, napi_callback_info info);
napi_value tso_peer_credentials(napi_env env, napi_callback_info info);
napi_value tso_fd_send(napi_env env, napi_callback_info info);
napi_value tso_fd_receive(napi_env env, napi_callback_info info);
napi_value tso_unix_datagram(napi_env env, napi_callback_info info);

#endif
