/* Sealing and opening sleeve datagrams in batches with crypto_secretbox
 * (XSalsa20-Poly1305): one call per batch instead of one per datagram.
 * TypeScript writes the headers and chooses the keys; this only runs the
 * cipher over the bytes it is pointed at, in place.
 * The layout is in addon.h and exported, so TypeScript checks it at load.
 *
 * The box is libsodium's crypto_secretbox_detached, byte for byte, built
 * from the same libsodium parts it uses (HSalsa20, Salsa20, Poly1305) with
 * one difference: the keystream is made in whole 512-byte steps into a
 * scratch buffer and XORed in. libsodium's AVX2 Salsa20 makes 8 blocks a
 * step and the remainder one to four blocks at a time, far slower; the text
 * of a 1,448-byte segment starts 32 bytes into the stream and leaves a
 * remainder of 392 bytes, which cost as much as the first 1,024
 * (crypto_secretbox_easy 2.07 µs, this 1.25 µs per 1,448 bytes here). */
#include "addon.h"

#include <sodium.h>
#include <string.h>

#define NONCE_AT TSO_SEAL_NONCE_AT
#define NONCE_SOURCE TSO_SEAL_NONCE_SOURCE
#define MAC_AT TSO_SEAL_MAC_AT
#define TEXT_AT TSO_SEAL_TEXT_AT
#define KEY_BYTES crypto_secretbox_KEYBYTES
#define POLY_KEY crypto_secretbox_ZEROBYTES /* the stream's first 32 bytes key Poly1305; the text takes the rest */
#define STEP 512                            /* libsodium's AVX2 Salsa20: 8 blocks of 64 bytes */
#define CHUNK (8 * STEP)

static const uint8_t zeros[CHUNK];

typedef struct {
  uint8_t subkey[crypto_stream_salsa20_KEYBYTES];
  const uint8_t* nonce8; /* the nonce's last 8 bytes, Salsa20's own */
  uint8_t stream[CHUNK];
  uint8_t poly_key[POLY_KEY];
} cipher;

/* The keystream from byte `at` (a multiple of CHUNK) into c->stream: whole steps covering up to `want` bytes; returns the useful length. */
static size_t stream_at(cipher* c, size_t at, size_t want) {
  size_t n = want < CHUNK ? want : CHUNK;
  size_t whole = (n + STEP - 1) / STEP * STEP;
  crypto_stream_salsa20_xor_ic(c->stream, zeros, whole, c->nonce8, at / 64, c->subkey);
  return n;
}

static void xor_in(uint8_t* text, const uint8_t* stream, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t t, k;
    memcpy(&t, text + i, 8);
    memcpy(&k, stream + i, 8);
    t ^= k;
    memcpy(text + i, &t, 8);
  }
  for (; i < len; i++) text[i] ^= stream[i];
}

/* Keys the cipher for one datagram and makes the stream's first chunk: the Poly1305 key and the start of the text's stream. */
static size_t begin(cipher* c, const uint8_t* nonce, const uint8_t* key, size_t len) {
  crypto_core_hsalsa20(c->subkey, nonce, key, NULL);
  c->nonce8 = nonce + 16;
  size_t n = stream_at(c, 0, POLY_KEY + len);
  memcpy(c->poly_key, c->stream, POLY_KEY);
  return n;
}

/* XORs the whole text with its stream, the first chunk (`first` bytes, made by begin) already in c->stream. */
static void run_stream(cipher* c, uint8_t* text, size_t len, size_t first) {
  xor_in(text, c->stream + POLY_KEY, first - POLY_KEY);
  for (size_t at = CHUNK; at < POLY_KEY + len; at += CHUNK) {
    size_t n = stream_at(c, at, POLY_KEY + len - at);
    xor_in(text + at - POLY_KEY, c->stream, n);
  }
}

static void forget(cipher* c) {
  sodium_memzero(c, sizeof *c);
}

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
  cipher c;
  for (uint32_t i = 0; i < a.count; i++) {
    uint8_t* d = a.slab + a.starts[i];
    nonce_of(d, nonce);
    size_t first = begin(&c, nonce, a.keys + (size_t)i * KEY_BYTES, a.lengths[i]);
    run_stream(&c, d + TEXT_AT, a.lengths[i], first);
    crypto_onetimeauth_poly1305(d + MAC_AT, d + TEXT_AT, a.lengths[i], c.poly_key);
  }
  forget(&c);
  return tso_int(env, a.count);
}

/* openBatch(slab, starts, textLengths, keys, count, ok) -> how many opened; ok[i] = 1 for those. A datagram whose tag fails is left as it came. */
napi_value tso_open_batch(napi_env env, napi_callback_info info) {
  batch_args a;
  uint8_t* ok;
  size_t ok_len;
  if (!unpack(env, info, &a, &ok, &ok_len)) return tso_throw_range(env, "openBatch(slab, starts, textLengths, keys, count, ok)");
  uint8_t nonce[crypto_secretbox_NONCEBYTES];
  cipher c;
  uint32_t opened = 0;
  for (uint32_t i = 0; i < a.count; i++) {
    uint8_t* d = a.slab + a.starts[i];
    nonce_of(d, nonce);
    size_t first = begin(&c, nonce, a.keys + (size_t)i * KEY_BYTES, a.lengths[i]);
    ok[i] = crypto_onetimeauth_poly1305_verify(d + MAC_AT, d + TEXT_AT, a.lengths[i], c.poly_key) == 0;
    if (ok[i]) run_stream(&c, d + TEXT_AT, a.lengths[i], first);
    opened += ok[i];
  }
  forget(&c);
  return tso_int(env, opened);
}
