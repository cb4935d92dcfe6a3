// How the process keeps freed memory (see memory.c).
#pragma once

/// Asks glibc to keep freed memory for reuse instead of returning it to the system (raising
/// the mmap and trim thresholds). A training step frees and allocates the same large
/// buffers every time; returned memory would cost a page fault per 4 KiB on the next step.
void bp_retain_freed_memory(void);
