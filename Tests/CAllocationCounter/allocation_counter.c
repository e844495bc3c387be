#include "allocation_counter.h"
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static __thread int counting;
static __thread long count;
static __thread size_t largest;
static volatile int hooked;

static void note(size_t n) { count++; if (n > largest) largest = n; }

void *malloc(size_t n) { hooked = 1; if (counting) note(n); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (counting) note(a * b); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (counting) note(n); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }

void flux_allocations_start(void) { count = 0; largest = 0; counting = 1; }
size_t flux_allocations_largest(void) { return largest; }
long flux_allocations_stop(void) { counting = 0; return count; }
int flux_allocations_hooked(void) { return hooked; }
