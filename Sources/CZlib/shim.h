// zlib: gzip'd IDX files (gzopen/gzread) and PNG compression (compress2, crc32).
#include <zlib.h>
