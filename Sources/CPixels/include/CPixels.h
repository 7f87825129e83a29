// CPixels: one pass from a camera's raw pixel format to the planar Y/Cb/Cr that libturbojpeg compresses
// (tjCompressFromYUVPlanes), turned (rotate/flip) while it is written. C because the inner loops run over every
// pixel of every frame and must be fast in debug builds too; Swift calls it only through JPEG's PixelConversion.swift.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// What a frame converts to (PlanarImage.Layout's cases).
enum {
    CPX_LAYOUT_GRAY = 0,
    CPX_LAYOUT_420 = 1,
    CPX_LAYOUT_422 = 2,
    CPX_LAYOUT_444 = 3,
};

/// cpx_convert's results.
enum {
    CPX_OK = 0,
    /// camd has no converter for this fourcc.
    CPX_ERR_FORMAT = -1,
    /// The size is unusable for the format (zero, above 16384, or odd where the chroma needs pairs).
    CPX_ERR_SIZE = -2,
    /// The buffer holds fewer bytes than the size and stride need (a short frame: invalid, never read past).
    CPX_ERR_SHORT = -3,
    /// A transform outside 0...7.
    CPX_ERR_TRANSFORM = -4,
};

/// The eight transforms, in Orientation.Transform's order; each maps source (x, y) of a W×H picture to:
/// 0 identity (x, y) · 1 flip horizontal (W-1-x, y) · 2 flip vertical (x, H-1-y) · 3 transpose (y, x)
/// 4 transverse (H-1-y, W-1-x) · 5 rotate 90 (H-1-y, x) · 6 rotate 180 (W-1-x, H-1-y) · 7 rotate 270 (y, W-1-x).
/// 3, 4, 5 and 7 swap width and height.

/// The layout a `fourcc` frame converts to under `transform`, or CPX_ERR_FORMAT / CPX_ERR_TRANSFORM.
/// 4:2:2 sources turned by 90° or 270° become 4:2:0 (vertical chroma pairs averaged): turned, their chroma would be
/// 4:4:0, which costs as much to encode as 4:2:2 and which hardware and browser decoders support far less widely.
int cpx_layout(uint32_t fourcc, int transform);

/// The bytes one `width`×`height` frame with rows `bytes_per_line` apart needs (a stride below the format's
/// minimum, e.g. 0, counts as the minimum); for multi-plane formats in one buffer (NV12, YU12…) the chroma planes
/// follow the luma plane at bytes_per_line × height, as the V4L2 spec lays them out. 0 if the format or size is
/// unusable.
size_t cpx_frame_bytes(uint32_t fourcc, int width, int height, size_t bytes_per_line);

/// Converts one frame (`length` bytes at `src`) into the planes `y`, `u`, `v` (`v`/`u` unused for GRAY) with
/// strides `y_stride` and `c_stride`, sized for the output (width and height swapped when the transform swaps
/// them; chroma planes per cpx_layout). Reads nothing beyond `src + length`. Returns CPX_OK or a CPX_ERR_*.
int cpx_convert(uint32_t fourcc, const uint8_t *src, size_t length, int width, int height, size_t bytes_per_line,
                int transform, uint8_t *y, uint8_t *u, uint8_t *v, int y_stride, int c_stride);
