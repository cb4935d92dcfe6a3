// How the process keeps its freed memory (contract in include/memory.h).
#include "memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void bp_retain_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}
