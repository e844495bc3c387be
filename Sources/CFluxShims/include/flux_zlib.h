#pragma once
#include <stddef.h>
// zlib helpers. zlib.h itself stays out of this header so that modules importing CFluxShims do
// not see zlib's global names (compress, crc32, ...); Swift code that needs zlib itself imports
// the CZlib module.

/// Outcomes of `flux_zlib_inflate_bounded`.
enum {
    FLUX_INFLATE_OK = 0,        ///< the stream ended; *out holds the data
    FLUX_INFLATE_TOO_LARGE = 1, ///< the output would pass max_out
    FLUX_INFLATE_TRUNCATED = 2, ///< the input ran out before the end of the stream
    FLUX_INFLATE_NEED_DICT = 3, ///< a zlib stream asking for a preset dictionary
    FLUX_INFLATE_CORRUPT = 4,   ///< invalid data; err holds zlib's reason
    FLUX_INFLATE_NO_MEMORY = 5,
};

/// The one bounded inflate loop of the gateway (CMS CompressedData and PDF FlateDecode use it,
/// each with its own rules for what may surround the deflate data). Inflates `in` (a zlib
/// stream when `raw` is 0, raw deflate otherwise) up to the end of the deflate data, never
/// holding more than `max_out` bytes of output: the bound is checked while decoding, so a bomb
/// stops at the limit. On FLUX_INFLATE_OK, *out is a malloc'd buffer the caller frees, of
/// *out_len bytes, and *consumed says how much of `in` the stream took (the rest is what
/// follows it). On failure *out is NULL and `err` (err_len bytes) holds a reason when there is
/// one.
int flux_zlib_inflate_bounded(const unsigned char *in, size_t in_len, int raw, size_t max_out,
                              unsigned char **out, size_t *out_len, size_t *consumed,
                              char *err, size_t err_len);
