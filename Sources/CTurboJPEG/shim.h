// libturbojpeg 2.1 (Debian 12: libturbojpeg0-dev). The tj* API imports into Swift as is.
#pragma once
#include <turbojpeg.h>

#include <stdint.h>
#include <stddef.h>

#include <malloc.h>

/// JPEGTransformer: libjpeg allocates and frees megabytes of DCT coefficients per transformed frame; these glibc
/// thresholds keep such blocks in the heap instead of returning them to the kernel every frame (Swift's Glibc
/// module does not export <malloc.h>).
static inline void ctj_keep_freed_blocks(int bytes) {
    mallopt(M_MMAP_THRESHOLD, bytes);
    mallopt(M_TRIM_THRESHOLD, bytes);
}
