/* Sealing and opening sleeve datagrams in batches with libsodium's
 * crypto_secretbox (XSalsa20-Poly1305): one call per batch instead of one
 * per datagram. TypeScript writes the headers and chooses the keys; this
 * only runs the cipher over the bytes it is pointed at, in place.
 * The layout is in addon.h and exported, so TypeScript checks it at load. */
#include "addon.h"

#include <sodium.h>
#include <string.h>

#define NONCE_AT TSO_SEAL_NONCE_AT
#define NONCE_SOURCE TSO_SEAL_NONCE_SOURCE
#define MAC_AT TSO_SEAL_MAC_AT
#define TEXT_AT TSO_SEAL_TEXT_AT
#define KEY_BYTES crypto_secretbox_KEYBYTES

typedef struct {
  uint8_t* slab;
  size_t slab_len;
  uint32_t *starts, *lengths;
  uint8_t* keys;
  uint32_t count;
} batch_args;

static int unpack(napi_env env, napi_callback_info info, batch_args* a, uint8_t** ok, size_t* ok_len) {
  size_t argc = 6;
  napi_value argv[6];
  size_t starts_len, lengths_len, keys_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 ||
      !tso_arg_buffer(env, argv[0], &a->slab, &a->slab_len) ||
      !tso_arg_typed(env, argv[1], napi_uint32_array, (void**)&a->starts, &starts_len) ||
      !tso_arg_typed(env, argv[2], napi_uint32_array, (void**)&a->lengths, &lengths_len) ||
      !tso_arg_buffer(env, argv[3], &a->keys, &keys_len) || !tso_arg_u32(env, argv[4], &a->count))
    return 0;
  if (a->count > starts_len || a->count > lengths_len || (size_t)a->count * KEY_BYTES > keys_len) return 0;
  if (ok && (argc < 6 || !tso_arg_typed(env, argv[5], napi_uint8_array, (void**)ok, ok_len) || *ok_len < a->count)) return 0;
  for (uint32_t i = 0; i < a->count; i++)
    if ((size_t)a->starts[i] + TEXT_AT + a->lengths[i] > a->slab_len) return 0;
  return 1;
}

static void nonce_of(const uint8_t* datagram, uint8_t nonce[crypto_secretbox_NONCEBYTES]) {
  memset(nonce, 0, crypto_secretbox_NONCEBYTES);
  memcpy(nonce, datagram + NONCE_AT, NONCE_SOURCE);
}

/* sealBatch(slab, starts, textLengths, keys, count): keys holds KEY_BYTES per datagram. */
napi_value tso_seal_batch(napi_env env, napi_callback_info info) {
  batch_args a;
  if (!unpack(env, info, &a, NULL, NULL)) return tso_throw_range(env, "sealBatch(slab, starts, textLengths, keys, count)");
  uint8_t nonce[crypto_secretbox_NONCEBYTES];
  for (uint32_t i = 0; i < a.count; i++) {
    uint8_t* d = a.slab + a.starts[i];
    nonce_of(d, nonce);
    crypto_secretbox_detached(d + TEXT_AT, d + MAC_AT, d + TEXT_AT, a.lengths[i], nonce, a.keys + (size_t)i * KEY_BYTES);
  }
  return tso_int(env, a.count);
}

/* openBatch(slab, starts, textLengths, keys, count, ok) -> how many opened; ok[i] = 1 for those. */
napi_value tso_open_batch(napi_env env, napi_callback_info info) {
  batch_args a;
  uint8_t* ok;
  size_t ok_len;
  if (!unpack(env, info, &a, &ok, &ok_len)) return tso_throw_range(env, "openBatch(slab, starts, textLengths, keys, count, ok)");
  uint8_t nonce[crypto_secretbox_NONCEBYTES];
  uint32_t opened = 0;
  for (uint32_t i = 0; i < a.count; i++) {
    uint8_t* d = a.slab + a.starts[i];
    nonce_of(d, nonce);
    ok[i] = crypto_secretbox_open_detached(d + TEXT_AT, d + TEXT_AT, d + MAC_AT, a.lengths[i], nonce, a.keys + (size_t)i * KEY_BYTES) == 0;
    opened += ok[i];
  }
  return tso_int(env, opened);
}
