// PixelsFuzz: a camera's raw frame — any of the sixteen formats CPixels converts (and fourccs it does not), any
// size, stride and turn, and any number of bytes — converted to a PlanarImage; and the lossless JPEG transform
// that `rotate`/`flip` run on an MJPEG camera's frames.
//
// Input layout: byte 0 picks the format, byte 1 the transform, bytes 2-3 the width, 4-5 the height (1-64 each),
// 6-7 the bytes per line (0-1023); the rest is the frame. Sizes are kept small so that most inputs are whole frames
// and the converters themselves run, not only the size check.
import JPEG

enum PixelsFuzz {
    /// CPixels' formats, then three it has no converter for (MJPEG, VYUY, H264).
    static let fourccs: [String] = ["YUYV", "UYVY", "YVYU", "NV12", "NV21", "NV16", "YU12", "YV12", "GREY", "RGB3", "BGR3",
                                    "RGBP", "BA81", "GBRG", "GRBG", "RGGB", "MJPG", "VYUY", "H264"]

    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        guard bytes.count >= 8 else { return }
        let name = fourccs[Int(bytes[0]) % fourccs.count]
        let fourcc = name.utf8.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        let transform = Orientation.Transform.allCases[Int(bytes[1]) % Orientation.Transform.allCases.count]
        let width = (Int(bytes[2]) << 8 | Int(bytes[3])) % 64 + 1
        let height = (Int(bytes[4]) << 8 | Int(bytes[5])) % 64 + 1
        let bytesPerLine = (Int(bytes[6]) << 8 | Int(bytes[7])) % 1024
        let frame = Array(bytes[8...])
        try checkConversion(frame, fourcc: fourcc, name: name, width: width, height: height, bytesPerLine: bytesPerLine,
                            transform: transform)
        try checkTransform(frame, transform)
    }

    /// Either a clear error (no control characters: it reaches the log) or a picture of the turned size whose layout
    /// is the one the format converts to; a frame at least `frameBytes` long always converts.
    static func checkConversion(_ frame: [UInt8], fourcc: UInt32, name: String, width: Int, height: Int, bytesPerLine: Int,
                                transform: Orientation.Transform) throws(FuzzFailure) {
        let needed = PlanarImage.frameBytes(fourcc: fourcc, width: width, height: height, bytesPerLine: bytesPerLine)
        let layout = PlanarImage.layout(converting: fourcc, transform: transform)
        let result = frame.withUnsafeBytes { raw -> Result<PlanarImage, PixelConversionError> in
            Result { () throws(PixelConversionError) -> PlanarImage in
                try PlanarImage(converting: raw, fourcc: fourcc, width: width, height: height, bytesPerLine: bytesPerLine,
                                transform: transform)
            }
        }
        let what = "\(width)x\(height) \(name), \(bytesPerLine) bytes per line, \(transform), \(frame.count) bytes"
        switch result {
        case .failure(let error):
            try require(!error.description.isEmpty && !hasControlCharacter(error.description), "pixels-error", error.description.debugDescription)
            if let needed, layout != nil {
                try require(frame.count < needed, "pixels-refused", "\(what) (needs \(needed)) was refused: \(error)")
            }
        case .success(let image):
            try require(layout != nil && image.layout == layout, "pixels-layout", "\(what) converted to \(image.layout)")
            try require(needed.map { frame.count >= $0 } ?? false, "pixels-short", "\(what) converted although it needs \(needed.map(String.init) ?? "nil")")
            let size = transform.swapsAxes ? (height, width) : (width, height)
            try require(image.width == size.0 && image.height == size.1, "pixels-size", "\(what) became \(image.width)x\(image.height)")
        }
    }

    /// The lossless transform on any bytes: a JPEGError, or a JPEG (SOI … EOI) whose size is the input's turned and
    /// at most trimmed by one MCU.
    static func checkTransform(_ frame: [UInt8], _ transform: Orientation.Transform) throws(FuzzFailure) {
        guard let transformer = try? JPEGTransformer() else { throw FuzzFailure("transform-init", "tjInitTransform failed") }
        guard let turned = try? transformer.transform(frame, transform) else { return }
        if transform == .identity {
            try require(turned.jpeg == frame, "transform-identity", "the identity changed the bytes")
            return
        }
        let jpeg = turned.jpeg
        try require(jpeg.count >= 4 && jpeg[0] == 0xFF && jpeg[1] == 0xD8, "transform-soi", "output starts \(shown(jpeg.prefix(4)))")
        try require(turned.width >= 0 && turned.height >= 0, "transform-size", "\(turned.width)x\(turned.height)")
    }
}
