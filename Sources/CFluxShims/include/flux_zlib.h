#pragma once
// zlib helpers for FluxCrypto (CMS CompressedData). zlib.h itself stays out of this header so
// that modules importing CFluxShims do not see zlib's global names (compress, crc32, ...):
// streams are passed as untyped pointers to a caller-owned z_stream (module CZlib).

/// inflateInit is a macro over inflateInit_ (which checks the header version and sizeof(z_stream)).
/// `stream` is a zeroed z_stream; returns Z_OK on success.
int flux_zlib_inflate_init(void *stream);

/// inflateInit2 with windowBits -15: raw deflate, no zlib header or Adler-32 trailer (the
/// caller checks those itself). Returns Z_OK on success.
int flux_zlib_inflate_init_raw(void *stream);
