#include "flux_zlib.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void set_err(char *err, size_t err_len, const char *msg) {
    if (err && err_len > 0) {
        strncpy(err, msg ? msg : "", err_len - 1);
        err[err_len - 1] = 0;
    }
}

int flux_zlib_inflate_bounded(const unsigned char *in, size_t in_len, int raw, size_t max_out,
                              unsigned char **out, size_t *out_len, size_t *consumed,
                              char *err, size_t err_len) {
    *out = NULL;
    *out_len = 0;
    *consumed = 0;
    set_err(err, err_len, "");
    z_stream s;
    memset(&s, 0, sizeof s);
    if ((raw ? inflateInit2(&s, -15) : inflateInit(&s)) != Z_OK) {
        set_err(err, err_len, "cannot initialise zlib");
        return FLUX_INFLATE_CORRUPT;
    }
    // One byte past the bound tells "exactly at the limit" from "over it". The first buffer
    // fits the common case (XML compresses 4-12 times) so that one inflate call with Z_FINISH
    // does it all: zlib then keeps no sliding window (no 32 KiB allocation, no copy of the
    // output into it after each call). It doubles from there up to the bound, and is trimmed
    // to the output at the end.
    size_t ceiling = max_out < SIZE_MAX ? max_out + 1 : max_out;
    size_t cap = in_len < SIZE_MAX / 16 ? in_len * 16 : SIZE_MAX;
    if (cap < 16384) cap = 16384;
    if (cap > (16u << 20)) cap = 16u << 20;
    if (cap > ceiling) cap = ceiling;
    unsigned char *buf = malloc(cap ? cap : 1);
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
