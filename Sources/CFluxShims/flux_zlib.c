#include "flux_zlib.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <libdeflate.h>

static void set_err(char *err, size_t err_len, const char *msg) {
    if (err && err_len > 0) {
        strncpy(err, msg ? msg : "", err_len - 1);
        err[err_len - 1] = 0;
    }
}

// The first output buffer: fits the common case (XML compresses 4-12 times) in one go.
static size_t first_capacity(size_t in_len, size_t ceiling) {
    size_t cap = in_len < SIZE_MAX / 16 ? in_len * 16 : SIZE_MAX;
    if (cap < 16384) cap = 16384;
    if (cap > (16u << 20)) cap = 16u << 20;
    if (cap > ceiling) cap = ceiling;
    return cap ? cap : 1;
}

// libdeflate decodes whole buffers about twice as fast as zlib (measured on the Factur-X
// attachments: 8 KB of XML in 6.9 against 11.6 us). It cannot resume, so when the output does
// not fit it starts again into a buffer twice as large: at most twice the work of the final
// size, still bounded by max_out + 1. It returns 1 when it has the answer, 0 when zlib must
// decide: libdeflate says only "bad data" where zlib tells truncated, preset-dictionary and
// corrupt apart, so every failure other than "too large" is handed to zlib for its reason.
static int fast_inflate(const unsigned char *in, size_t in_len, int raw, size_t max_out, size_t ceiling,
                        unsigned char **out, size_t *out_len, size_t *consumed, int *result) {
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) return 0;
    size_t cap = first_capacity(in_len, ceiling);
    unsigned char *buf = NULL;
    int answered = 0;
    for (int attempt = 0; attempt < 64; attempt++) {  // doubling from >= 1 byte: < 64 attempts
        free(buf);
        buf = malloc(cap);
        if (!buf) break;
        size_t used = 0, produced = 0;
        enum libdeflate_result r = raw
            ? libdeflate_deflate_decompress_ex(d, in, in_len, buf, cap, &used, &produced)
            : libdeflate_zlib_decompress_ex(d, in, in_len, buf, cap, &used, &produced);
        if (r == LIBDEFLATE_SUCCESS) {
            if (produced > max_out) { *result = FLUX_INFLATE_TOO_LARGE; answered = 1; break; }
            if (cap - produced > 4096) {
                unsigned char *b = realloc(buf, produced ? produced : 1);
                if (b) buf = b;
            }
            *out = buf;
            buf = NULL;
            *out_len = produced;
            *consumed = used;
            *result = FLUX_INFLATE_OK;
            answered = 1;
            break;
        }
        if (r != LIBDEFLATE_INSUFFICIENT_SPACE) break;
        if (cap >= ceiling) { *result = FLUX_INFLATE_TOO_LARGE; answered = 1; break; }
        cap = cap <= ceiling - cap ? cap * 2 : ceiling;
    }
    free(buf);
    libdeflate_free_decompressor(d);
    return answered;
}

int flux_zlib_inflate_bounded(const unsigned char *in, size_t in_len, int raw, size_t max_out,
                              unsigned char **out, size_t *out_len, size_t *consumed,
                              char *err, size_t err_len) {
    *out = NULL;
    *out_len = 0;
    *consumed = 0;
    set_err(err, err_len, "");
    // One byte past the bound tells "exactly at the limit" from "over it".
    size_t ceiling = max_out < SIZE_MAX ? max_out + 1 : max_out;
    int fast_result;
    if (fast_inflate(in, in_len, raw, max_out, ceiling, out, out_len, consumed, &fast_result)) return fast_result;
    z_stream s;
    memset(&s, 0, sizeof s);
    if ((raw ? inflateInit2(&s, -15) : inflateInit(&s)) != Z_OK) {
        set_err(err, err_len, "cannot initialise zlib");
        return FLUX_INFLATE_CORRUPT;
    }
    // zlib: when the first buffer holds it all, one inflate call with Z_FINISH does it and
    // zlib keeps no sliding window (no 32 KiB allocation, no copy of the output into it after
    // each call). It doubles from there up to the bound, and is trimmed to the output at the end.
    size_t cap = first_capacity(in_len, ceiling);
    unsigned char *buf = malloc(cap);
    if (!buf) { inflateEnd(&s); return FLUX_INFLATE_NO_MEMORY; }
    size_t produced = 0, fed = 0;
    int result;
    for (;;) {
        if (produced == cap) {
            if (cap >= ceiling) { result = FLUX_INFLATE_TOO_LARGE; break; }
            size_t grown = cap <= ceiling - cap ? cap * 2 : ceiling;
            unsigned char *b = realloc(buf, grown);
            if (!b) { result = FLUX_INFLATE_NO_MEMORY; break; }
            buf = b;
            cap = grown;
        }
        // avail_in and avail_out are 32-bit: large buffers are handed over in slices.
        if (s.avail_in == 0 && fed < in_len) {
            size_t n = in_len - fed < UINT_MAX ? in_len - fed : UINT_MAX;
            s.next_in = (Bytef *)(in + fed);  // zlib never writes through next_in
            s.avail_in = (uInt)n;
            fed += n;
        }
        size_t room = cap - produced < UINT_MAX ? cap - produced : UINT_MAX;
        s.next_out = buf + produced;
        s.avail_out = (uInt)room;
        // With Z_FINISH a call that runs out of output room returns Z_BUF_ERROR and may be
        // called again with more (zlib then falls back to keeping a window).
        int status = inflate(&s, fed == in_len ? Z_FINISH : Z_NO_FLUSH);
        produced += room - s.avail_out;
        if (produced > max_out) { result = FLUX_INFLATE_TOO_LARGE; break; }
        if (status == Z_STREAM_END) { result = FLUX_INFLATE_OK; break; }
        if (status == Z_OK) continue;
        if (status == Z_BUF_ERROR && s.avail_out == 0) continue;  // more room at the top of the loop
        // There was output room and all the input zlib could take, so no progress means the
        // input ran out.
        if (status == Z_BUF_ERROR) { result = FLUX_INFLATE_TRUNCATED; break; }
        if (status == Z_NEED_DICT) { result = FLUX_INFLATE_NEED_DICT; break; }
        set_err(err, err_len, s.msg ? s.msg : "zlib error");
        result = FLUX_INFLATE_CORRUPT;
        break;
    }
    if (result == FLUX_INFLATE_OK) {
        *consumed = fed - s.avail_in;
        *out_len = produced;
        if (cap - produced > 4096) {
            unsigned char *b = realloc(buf, produced ? produced : 1);
            if (b) buf = b;
        }
        *out = buf;
    } else {
        free(buf);
    }
    inflateEnd(&s);
    return result;
}
