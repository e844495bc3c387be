#ifndef FLUX_ALLOCATION_COUNTER_H
#define FLUX_ALLOCATION_COUNTER_H
// Counts malloc/calloc/realloc calls made by the calling thread between start and stop. Linked
// only into the test executable, which exports malloc & co. so that every library's calls come
// here first (ELF interposition); the real allocator is glibc's __libc_* entry points.
#include <stddef.h>
void flux_allocations_start(void);
long flux_allocations_stop(void);
/// The largest single request (bytes) counted since the last start.
size_t flux_allocations_largest(void);
/// 1 when this process's malloc is the counting one (the interposition works).
int flux_allocations_hooked(void);
#endif
