// YUV420Conversion: a PlanarImage (gray, 4:2:0, 4:2:2, 4:4:4) written into an encoder's 4:2:0 planes, without an
// RGB round trip. One of the two files here with raw pointers: the destination planes are libavcodec's.

import JPEG

enum YUV420Conversion {
    /// A destination plane: its first byte and bytes per row.
    struct Plane {
        let base: UnsafeMutablePointer<UInt8>
        let stride: Int
    }

    /// Writes the top-left `width`×`height` (both even, at most the image's size) of `image` into `y`, `u`, `v`.
    /// 4:2:2 chroma averages each pair of rows, 4:4:4 each 2×2 block (rounding half up); gray gets neutral chroma.
    static func write(_ image: PlanarImage, width: Int, height: Int, y: Plane, u: Plane, v: Plane) {
        precondition(width % 2 == 0 && height % 2 == 0 && width <= image.width && height <= image.height, "bad 4:2:0 size")
        for row in 0..<height {
            (y.base + row * y.stride).update(from: image.plane(0) + row * image.strides[0], count: width)
        }
        let chromaWidth = width / 2, chromaHeight = height / 2
        for (index, plane) in [(1, u), (2, v)] {
            switch image.layout {
            case .gray:
                for row in 0..<chromaHeight { (plane.base + row * plane.stride).update(repeating: 128, count: chromaWidth) }
            case .s420:
                for row in 0..<chromaHeight {
                    (plane.base + row * plane.stride).update(from: image.plane(index) + row * image.strides[index], count: chromaWidth)
                }
            case .s422:
                for row in 0..<chromaHeight {
                    let top = image.plane(index) + 2 * row * image.strides[index], bottom = top + image.strides[index]
                    let out = plane.base + row * plane.stride
                    for column in 0..<chromaWidth {
                        out[column] = UInt8((UInt16(top[column]) + UInt16(bottom[column]) + 1) >> 1)
                    }
                }
            case .s444:
                for row in 0..<chromaHeight {
                    let top = image.plane(index) + 2 * row * image.strides[index], bottom = top + image.strides[index]
                    let out = plane.base + row * plane.stride
                    for column in 0..<chromaWidth {
                        let sum = UInt16(top[2 * column]) + UInt16(top[2 * column + 1]) + UInt16(bottom[2 * column])
                            + UInt16(bottom[2 * column + 1])
                        out[column] = UInt8((sum + 2) >> 2)
                    }
                }
            }
        }
    }
}
