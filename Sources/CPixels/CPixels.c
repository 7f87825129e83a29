// CPixels: raw camera formats → planar Y/Cb/Cr in one pass, the destination addressing carrying the rotation/flip.
// YUV formats are copied or deinterleaved (no colour conversion); RGB and Bayer become BT.601 limited-range YUV
// 4:2:0 with integer arithmetic. Every read is bounded by cpx_frame_bytes(), checked against the buffer's length
// before the first pixel is touched.
#include "CPixels.h"
#include <string.h>

#define FOURCC(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

enum {
    F_YUYV = FOURCC('Y', 'U', 'Y', 'V'),
    F_UYVY = FOURCC('U', 'Y', 'V', 'Y'),
    F_YVYU = FOURCC('Y', 'V', 'Y', 'U'),
    F_NV12 = FOURCC('N', 'V', '1', '2'),
    F_NV21 = FOURCC('N', 'V', '2', '1'),
    F_NV16 = FOURCC('N', 'V', '1', '6'),
    F_YU12 = FOURCC('Y', 'U', '1', '2'),
    F_YV12 = FOURCC('Y', 'V', '1', '2'),
    F_GREY = FOURCC('G', 'R', 'E', 'Y'),
    F_RGB24 = FOURCC('R', 'G', 'B', '3'),
    F_BGR24 = FOURCC('B', 'G', 'R', '3'),
    F_RGB565 = FOURCC('R', 'G', 'B', 'P'),
    F_SBGGR8 = FOURCC('B', 'A', '8', '1'),
    F_SGBRG8 = FOURCC('G', 'B', 'R', 'G'),
    F_SGRBG8 = FOURCC('G', 'R', 'B', 'G'),
    F_SRGGB8 = FOURCC('R', 'G', 'G', 'B'),
};

#define MAX_SIDE 16384

/// Bytes of one row at the format's minimum stride, and whether width/height must be even; 0 if unknown.
static size_t min_row(uint32_t fourcc, int width, int *even_w, int *even_h) {
    *even_w = 0;
    *even_h = 0;
    switch (fourcc) {
    case F_YUYV: case F_UYVY: case F_YVYU:
        *even_w = 1;
        return (size_t)width * 2;
    case F_NV12: case F_NV21: case F_YU12: case F_YV12:
        *even_w = *even_h = 1;
        return (size_t)width;
    case F_NV16:
        *even_w = 1;
        return (size_t)width;
    case F_GREY:
        return (size_t)width;
    case F_RGB24: case F_BGR24:
        return (size_t)width * 3;
    case F_RGB565:
        return (size_t)width * 2;
    case F_SBGGR8: case F_SGBRG8: case F_SGRBG8: case F_SRGGB8:
        *even_w = *even_h = 1;
        return (size_t)width;
    default:
        return 0;
    }
}

static int swaps_axes(int transform) { return transform == 3 || transform == 4 || transform == 5 || transform == 7; }

int cpx_layout(uint32_t fourcc, int transform) {
    if (transform < 0 || transform > 7) return CPX_ERR_TRANSFORM;
    switch (fourcc) {
    case F_YUYV: case F_UYVY: case F_YVYU: case F_NV16:
        return swaps_axes(transform) ? CPX_LAYOUT_420 : CPX_LAYOUT_422;
    case F_NV12: case F_NV21: case F_YU12: case F_YV12:
    case F_RGB24: case F_BGR24: case F_RGB565:
    case F_SBGGR8: case F_SGBRG8: case F_SGRBG8: case F_SRGGB8:
        return CPX_LAYOUT_420;
    case F_GREY:
        return CPX_LAYOUT_GRAY;
    default:
        return CPX_ERR_FORMAT;
    }
}

/// The stride actually used: the driver's, or the minimum when it reports less (0, or a driver bug).
static size_t stride_of(size_t bytes_per_line, size_t minimum) { return bytes_per_line < minimum ? minimum : bytes_per_line; }

size_t cpx_frame_bytes(uint32_t fourcc, int width, int height, size_t bytes_per_line) {
    int even_w, even_h;
    if (width <= 0 || height <= 0 || width > MAX_SIDE || height > MAX_SIDE) return 0;
    size_t row = min_row(fourcc, width, &even_w, &even_h);
    if (row == 0 || (even_w && width % 2) || (even_h && height % 2)) return 0;
    if (bytes_per_line > ((size_t)1 << 30)) return 0;  // no real stride; keeps every product below 2^45
    size_t bpl = stride_of(bytes_per_line, row), h = (size_t)height, w = (size_t)width;
    switch (fourcc) {
    case F_NV12: case F_NV21:
        return bpl * h + bpl * (h / 2 - 1) + w;
    case F_NV16:
        return bpl * h + bpl * (h - 1) + w;
    case F_YU12: case F_YV12: {
        size_t cbpl = bpl / 2;
        return bpl * h + cbpl * (h / 2) + cbpl * (h / 2 - 1) + w / 2;
    }
    default:
        return bpl * (h - 1) + row;
    }
}

/// Where a plane's source sample (x, y) lands: origin + x·xs + y·ys (the transform, for a w×h plane).
typedef struct {
    uint8_t *origin;
    ptrdiff_t xs, ys;
} map_t;

static map_t plane_map(uint8_t *base, ptrdiff_t stride, int transform, int w, int h) {
    ptrdiff_t W = w, H = h;
    switch (transform) {
    case 1: return (map_t){base + (W - 1), -1, stride};
    case 2: return (map_t){base + (H - 1) * stride, 1, -stride};
    case 3: return (map_t){base, stride, 1};
    case 4: return (map_t){base + (W - 1) * stride + (H - 1), -stride, -1};
    case 5: return (map_t){base + (H - 1), stride, -1};
    case 6: return (map_t){base + (H - 1) * stride + (W - 1), -1, -stride};
    case 7: return (map_t){base + (W - 1) * stride, -stride, 1};
    default: return (map_t){base, 1, stride};
    }
}

static inline uint8_t *at(map_t m, int x, int y) { return m.origin + (ptrdiff_t)x * m.xs + (ptrdiff_t)y * m.ys; }

// Every converter below handles the source columns [x0, x1) of every row (x0 even). A transform that swaps the axes
// turns each source row into a destination column; cpx_convert then calls them strip by strip (STRIP columns at a
// time), so that consecutive rows write to neighbouring bytes of the same few destination rows (cache lines stay
// hot) instead of one byte per cache line across the whole picture.
#define STRIP 32

/// A plane that needs no conversion (Y of planar formats, GREY, U/V of YU12): row copies, or sample by sample
/// when the transform runs across rows.
static void copy_plane(const uint8_t *src, size_t stride, int x0, int x1, int h, map_t m) {
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * stride;
        uint8_t *d = at(m, 0, y);
        if (m.xs == 1) {
            memcpy(d + x0, s + x0, (size_t)(x1 - x0));
        } else {
            for (int x = x0; x < x1; x++) d[(ptrdiff_t)x * m.xs] = s[x];
        }
    }
}

/// Interleaved chroma (NV12's U V U V…) split into two planes; `halve` averages row pairs (4:2:2 → 4:2:0).
static void split_pairs(const uint8_t *src, size_t stride, int cx0, int cx1, int rows, int halve, map_t mu, map_t mv) {
    for (int y = 0, oy = 0; y < rows; y += halve ? 2 : 1, oy++) {
        const uint8_t *s = src + (size_t)y * stride;
        uint8_t *du = at(mu, 0, oy), *dv = at(mv, 0, oy);
        if (halve) {
            const uint8_t *t = y + 1 < rows ? s + stride : s;  // an odd last row has no partner
            for (int x = cx0; x < cx1; x++) {
                du[(ptrdiff_t)x * mu.xs] = (uint8_t)((s[2 * x] + t[2 * x] + 1) >> 1);
                dv[(ptrdiff_t)x * mv.xs] = (uint8_t)((s[2 * x + 1] + t[2 * x + 1] + 1) >> 1);
            }
        } else {
            for (int x = cx0; x < cx1; x++) {
                du[(ptrdiff_t)x * mu.xs] = s[2 * x];
                dv[(ptrdiff_t)x * mv.xs] = s[2 * x + 1];
            }
        }
    }
}

/// Packed 4:2:2 (YUYV, UYVY, YVYU: byte offsets of Y0, U, Y1, V in each 4-byte pair of pixels).
static void packed_422(const uint8_t *src, size_t stride, int x0, int x1, int h, int oy0, int ou, int oy1, int ov,
                       int halve, map_t my, map_t mu, map_t mv) {
    int first = x0 / 2, pairs = x1 / 2;
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * stride;
        uint8_t *d = at(my, 0, y);
        for (int i = first; i < pairs; i++) {
            d[(ptrdiff_t)(2 * i) * my.xs] = s[4 * i + oy0];
            d[(ptrdiff_t)(2 * i + 1) * my.xs] = s[4 * i + oy1];
        }
        if (!halve) {
            uint8_t *du = at(mu, 0, y), *dv = at(mv, 0, y);
            for (int i = first; i < pairs; i++) {
                du[(ptrdiff_t)i * mu.xs] = s[4 * i + ou];
                dv[(ptrdiff_t)i * mv.xs] = s[4 * i + ov];
            }
        } else if (y % 2 == 1) {
            const uint8_t *p = s - stride;
            uint8_t *du = at(mu, 0, y / 2), *dv = at(mv, 0, y / 2);
            for (int i = first; i < pairs; i++) {
                du[(ptrdiff_t)i * mu.xs] = (uint8_t)((p[4 * i + ou] + s[4 * i + ou] + 1) >> 1);
                dv[(ptrdiff_t)i * mv.xs] = (uint8_t)((p[4 * i + ov] + s[4 * i + ov] + 1) >> 1);
            }
        } else if (y == h - 1) {
            // An odd last row of a 4:2:2 picture turned to 4:2:0 has no partner: its chroma stands alone.
            uint8_t *du = at(mu, 0, y / 2), *dv = at(mv, 0, y / 2);
            for (int i = first; i < pairs; i++) {
                du[(ptrdiff_t)i * mu.xs] = s[4 * i + ou];
                dv[(ptrdiff_t)i * mv.xs] = s[4 * i + ov];
            }
        }
    }
}

// BT.601 limited range ("studio swing"), 8-bit fixed point, as libjpeg's own RGB→YCbCr but scaled to 16-235/16-240.
static inline uint8_t luma(int r, int g, int b) { return (uint8_t)((66 * r + 129 * g + 25 * b + 4224) >> 8); }
/// Cb and Cr of the sum of 2^shift pixels' components (the offset keeps every sum positive before the shift).
static inline uint8_t chroma_b(int r, int g, int b, int shift) {
    return (uint8_t)((-38 * r - 74 * g + 112 * b + (32896 << shift)) >> (8 + shift));
}
static inline uint8_t chroma_r(int r, int g, int b, int shift) {
    return (uint8_t)((112 * r - 94 * g - 18 * b + (32896 << shift)) >> (8 + shift));
}

enum { RGB_24, BGR_24, RGB_565 };

static inline __attribute__((always_inline)) void fetch(int kind, const uint8_t *row, int x, int *r, int *g, int *b) {
    if (kind == RGB_24) {
        *r = row[3 * x]; *g = row[3 * x + 1]; *b = row[3 * x + 2];
    } else if (kind == BGR_24) {
        *b = row[3 * x]; *g = row[3 * x + 1]; *r = row[3 * x + 2];
    } else {
        // RGBP: little-endian 16 bits, rrrrrggg gggbbbbb; each field widened by repeating its top bits.
        unsigned v = (unsigned)row[2 * x] | (unsigned)row[2 * x + 1] << 8;
        unsigned r5 = v >> 11, g6 = (v >> 5) & 63, b5 = v & 31;
        *r = (int)(r5 << 3 | r5 >> 2); *g = (int)(g6 << 2 | g6 >> 4); *b = (int)(b5 << 3 | b5 >> 2);
    }
}

/// rgb_420 for rows written left to right (no turn, or a vertical flip) at an even width: simple loops over the two
/// rows the compiler can vectorise — lumas first, then each pair's Cb/Cr, while the rows are still in cache.
static inline __attribute__((always_inline)) void rgb_420_rows(int kind, const uint8_t *restrict s0, const uint8_t *restrict s1,
                                                               int x0, int x1, uint8_t *restrict d0, uint8_t *restrict d1,
                                                               uint8_t *restrict du, uint8_t *restrict dv) {
    for (int x = x0; x < x1; x++) {
        int r, g, b;
        fetch(kind, s0, x, &r, &g, &b);
        d0[x] = luma(r, g, b);
    }
    for (int x = x0; x < x1; x++) {
        int r, g, b;
        fetch(kind, s1, x, &r, &g, &b);
        d1[x] = luma(r, g, b);
    }
    for (int i = x0 / 2; i < x1 / 2; i++) {
        int r0, g0, b0, r1, g1, b1, r2, g2, b2, r3, g3, b3;
        fetch(kind, s0, 2 * i, &r0, &g0, &b0);
        fetch(kind, s0, 2 * i + 1, &r1, &g1, &b1);
        fetch(kind, s1, 2 * i, &r2, &g2, &b2);
        fetch(kind, s1, 2 * i + 1, &r3, &g3, &b3);
        int r = r0 + r1 + r2 + r3, g = g0 + g1 + g2 + g3, b = b0 + b1 + b2 + b3;
        du[i] = chroma_b(r, g, b, 2);
        dv[i] = chroma_r(r, g, b, 2);
    }
}

/// RGB → 4:2:0 in 2×2 blocks: four lumas, one Cb/Cr from the block's sums. Odd edges reuse the last column/row.
static inline __attribute__((always_inline)) void rgb_420(int kind, const uint8_t *src, size_t stride, int w, int h,
                                                          int x0, int x1, map_t my, map_t mu, map_t mv) {
    if (my.xs == 1 && mu.xs == 1 && mv.xs == 1 && w % 2 == 0 && h % 2 == 0) {
        for (int y = 0; y < h; y += 2) {
            const uint8_t *s0 = src + (size_t)y * stride;
            rgb_420_rows(kind, s0, s0 + stride, x0, x1, at(my, 0, y), at(my, 0, y + 1), at(mu, 0, y / 2), at(mv, 0, y / 2));
        }
        return;
    }
    for (int y = 0; y < h; y += 2) {
        int y1 = y + 1 < h ? y + 1 : y;
        const uint8_t *s0 = src + (size_t)y * stride, *s1 = src + (size_t)y1 * stride;
        uint8_t *d0 = at(my, 0, y), *d1 = at(my, 0, y1);
        uint8_t *du = at(mu, 0, y / 2), *dv = at(mv, 0, y / 2);
        for (int x = x0; x < x1; x += 2) {
            int xn = x + 1 < w ? x + 1 : x;
            int r0, g0, b0, r1, g1, b1, r2, g2, b2, r3, g3, b3;
            fetch(kind, s0, x, &r0, &g0, &b0);
            fetch(kind, s0, xn, &r1, &g1, &b1);
            fetch(kind, s1, x, &r2, &g2, &b2);
            fetch(kind, s1, xn, &r3, &g3, &b3);
            // Writing a duplicated edge pixel twice is harmless: the same value lands on the same sample.
            d0[(ptrdiff_t)x * my.xs] = luma(r0, g0, b0);
            d0[(ptrdiff_t)xn * my.xs] = luma(r1, g1, b1);
            d1[(ptrdiff_t)x * my.xs] = luma(r2, g2, b2);
            d1[(ptrdiff_t)xn * my.xs] = luma(r3, g3, b3);
            int r = r0 + r1 + r2 + r3, g = g0 + g1 + g2 + g3, b = b0 + b1 + b2 + b3;
            du[(ptrdiff_t)(x / 2) * mu.xs] = chroma_b(r, g, b, 2);
            dv[(ptrdiff_t)(x / 2) * mv.xs] = chroma_r(r, g, b, 2);
        }
    }
}

/// 8-bit Bayer, demosaiced per 2×2 cell: the cell's R, mean G and B give its Cb/Cr; each pixel's luma uses its own
/// sample for its own colour and the cell's for the other two (full-resolution detail, no neighbour rows read).
/// `red`/`blue`: index (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) of R and B in the cell.
static void bayer_420(const uint8_t *src, size_t stride, int x0, int x1, int h, int red, int blue, map_t my, map_t mu,
                      map_t mv) {
    for (int y = 0; y < h; y += 2) {
        const uint8_t *s0 = src + (size_t)y * stride, *s1 = s0 + stride;
        uint8_t *d0 = at(my, 0, y), *d1 = at(my, 0, y + 1);
        uint8_t *du = at(mu, 0, y / 2), *dv = at(mv, 0, y / 2);
        for (int x = x0; x < x1; x += 2) {
            int p[4] = {s0[x], s0[x + 1], s1[x], s1[x + 1]};
            int r = p[red], b = p[blue], gsum = p[0] + p[1] + p[2] + p[3] - r - b, g = (gsum + 1) >> 1;
            uint8_t out[4];
            for (int k = 0; k < 4; k++) {
                out[k] = k == red ? luma(p[k], g, b) : k == blue ? luma(r, g, p[k]) : luma(r, p[k], b);
            }
            d0[(ptrdiff_t)x * my.xs] = out[0];
            d0[(ptrdiff_t)(x + 1) * my.xs] = out[1];
            d1[(ptrdiff_t)x * my.xs] = out[2];
            d1[(ptrdiff_t)(x + 1) * my.xs] = out[3];
            du[(ptrdiff_t)(x / 2) * mu.xs] = chroma_b(r, g, b, 0);
            dv[(ptrdiff_t)(x / 2) * mv.xs] = chroma_r(r, g, b, 0);
        }
    }
}

int cpx_convert(uint32_t fourcc, const uint8_t *src, size_t length, int width, int height, size_t bytes_per_line,
                int transform, uint8_t *y, uint8_t *u, uint8_t *v, int y_stride, int c_stride) {
    int layout = cpx_layout(fourcc, transform);
    if (layout < 0) return layout;
    size_t needed = cpx_frame_bytes(fourcc, width, height, bytes_per_line);
    if (needed == 0) return CPX_ERR_SIZE;
    if (src == NULL || length < needed) return CPX_ERR_SHORT;
    int even_w, even_h;
    size_t bpl = stride_of(bytes_per_line, min_row(fourcc, width, &even_w, &even_h));
    int w = width, h = height, halve = layout == CPX_LAYOUT_420;
    // Chroma grid in source orientation: what the output's chroma plane holds before the transform.
    int cw = layout == CPX_LAYOUT_GRAY ? 0 : (w + 1) / 2;
    int ch = layout == CPX_LAYOUT_420 ? (h + 1) / 2 : h;
    map_t my = plane_map(y, y_stride, transform, w, h);
    map_t mu = {0}, mv = {0};
    if (layout != CPX_LAYOUT_GRAY) {
        mu = plane_map(u, c_stride, transform, cw, ch);
        mv = plane_map(v, c_stride, transform, cw, ch);
    }
    // Strips only where rows become columns; otherwise one strip is the whole width (row copies stay memcpy).
    int strip = swaps_axes(transform) ? STRIP : w;
    for (int x0 = 0; x0 < w; x0 += strip) {
        int x1 = w - x0 > strip ? x0 + strip : w, cx0 = x0 / 2, cx1 = (x1 + 1) / 2;
        switch (fourcc) {
        case F_YUYV: packed_422(src, bpl, x0, x1, h, 0, 1, 2, 3, halve, my, mu, mv); break;
        case F_UYVY: packed_422(src, bpl, x0, x1, h, 1, 0, 3, 2, halve, my, mu, mv); break;
        case F_YVYU: packed_422(src, bpl, x0, x1, h, 0, 3, 2, 1, halve, my, mu, mv); break;
        case F_NV12: case F_NV21: case F_NV16: {
            copy_plane(src, bpl, x0, x1, h, my);
            int rows = fourcc == F_NV16 ? h : h / 2;
            int nv21 = fourcc == F_NV21;
            split_pairs(src + bpl * (size_t)h, bpl, cx0, cx1, rows, fourcc == F_NV16 && halve, nv21 ? mv : mu, nv21 ? mu : mv);
            break;
        }
        case F_YU12: case F_YV12: {
            size_t cbpl = bpl / 2;
            const uint8_t *first = src + bpl * (size_t)h, *second = first + cbpl * (size_t)(h / 2);
            copy_plane(src, bpl, x0, x1, h, my);
            copy_plane(first, cbpl, cx0, cx1, ch, fourcc == F_YU12 ? mu : mv);
            copy_plane(second, cbpl, cx0, cx1, ch, fourcc == F_YU12 ? mv : mu);
            break;
        }
        case F_GREY: copy_plane(src, bpl, x0, x1, h, my); break;
        case F_RGB24: rgb_420(RGB_24, src, bpl, w, h, x0, x1, my, mu, mv); break;
        case F_BGR24: rgb_420(BGR_24, src, bpl, w, h, x0, x1, my, mu, mv); break;
        case F_RGB565: rgb_420(RGB_565, src, bpl, w, h, x0, x1, my, mu, mv); break;
        case F_SBGGR8: bayer_420(src, bpl, x0, x1, h, 3, 0, my, mu, mv); break;
        case F_SGBRG8: bayer_420(src, bpl, x0, x1, h, 2, 1, my, mu, mv); break;
        case F_SGRBG8: bayer_420(src, bpl, x0, x1, h, 1, 2, my, mu, mv); break;
        case F_SRGGB8: bayer_420(src, bpl, x0, x1, h, 0, 3, my, mu, mv); break;
        default: return CPX_ERR_FORMAT;
        }
    }
    return CPX_OK;
}
