#pragma once
#include <stdint.h>
#include <sys/types.h>

/// inotify event header fields, read from a raw buffer without Swift having to model the
/// flexible array member. Returns the total size of the event (header + name) or -1.
long flux_inotify_parse(const void *buf, long len, int32_t *wd, uint32_t *mask, const char **name);

/// AE_IFREG and friends are macros with casts Swift cannot import.
unsigned int flux_ae_ifreg(void);
unsigned int flux_ae_ifdir(void);
