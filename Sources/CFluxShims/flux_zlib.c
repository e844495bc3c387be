#include "flux_zlib.h"

#include <zlib.h>

int flux_zlib_inflate_init(void *stream) {
    return inflateInit((z_stream *)stream);
}

int flux_zlib_inflate_init_raw(void *stream) {
    return inflateInit2((z_stream *)stream, -15);
}
