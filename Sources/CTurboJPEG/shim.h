// libturbojpeg 2.1 (Debian 12: libturbojpeg0-dev). The tj* API imports into Swift as is.
#pragma once
#include <turbojpeg.h>

#include <stdint.h>
#include <stddef.h>

/// Splits packed YUYV 4:2:2 (Y0 U Y1 V) into the three planes tjCompressFromYUVPlanes takes with
/// TJSAMP_422. libturbojpeg 2.1 has no packed-4:2:2 input, so this is the one pass over the pixels
/// the YUYV path needs; C keeps it fast in debug builds too.
static inline void ctj_yuyv_to_planes(const uint8_t *src, int width, int height, int src_stride,
                                      uint8_t *y, uint8_t *u, uint8_t *v) {
    int half = width / 2;
    for (int row = 0; row < height; row++) {
        const uint8_t *s = src + (size_t)row * src_stride;
        uint8_t *yr = y + (size_t)row * width, *ur = u + (size_t)row * half, *vr = v + (size_t)row * half;
        for (int x = 0; x < half; x++) {
            yr[2 * x] = s[4 * x];
            ur[x] = s[4 * x + 1];
            yr[2 * x + 1] = s[4 * x + 2];
            vr[x] = s[4 * x + 3];
        }
    }
}

#include <malloc.h>

/// JPEGTransformer: libjpeg allocates and frees megabytes of DCT coefficients per transformed frame; these glibc
/// thresholds keep such blocks in the heap instead of returning them to the kernel every frame (Swift's Glibc
/// module does not export <malloc.h>).
static inline void ctj_keep_freed_blocks(int bytes) {
    mallopt(M_MMAP_THRESHOLD, bytes);
    mallopt(M_TRIM_THRESHOLD, bytes);
}
