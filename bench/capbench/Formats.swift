// capbench --formats: each raw camera format's conversion to planes (CPixels, via PlanarImage(converting:)) alone and
// with the JPEG encode, unturned and turned 90° (the rotation happens in the same pass). Frames are made from the
// PPM the way a camera would deliver them (YUV formats from the YUYV frame, RGB and Bayer from the RGB pixels).
import JPEG

/// One frame of `fourcc` made from the test picture.
func rawFrame(_ fourcc: String, rgb: [UInt8], yuyv: [UInt8], width: Int, height: Int) -> [UInt8] {
    let luma = (0..<(width * height)).map { yuyv[2 * $0] }
    func chroma(_ offset: Int, rows: Int) -> [UInt8] {  // U (offset 1) or V (3) of every pair, `rows` rows (every 2nd for 4:2:0)
        (0..<rows).flatMap { row in
            let y = rows == height ? row : 2 * row
            return (0..<(width / 2)).map { yuyv[(y * width + 2 * $0) * 2 + offset] }
        }
    }
    switch fourcc {
    case "YUYV": return yuyv
    case "UYVY": return (0..<(yuyv.count / 2)).flatMap { [yuyv[2 * $0 + 1], yuyv[2 * $0]] }
    case "NV12":
        let u = chroma(1, rows: height / 2), v = chroma(3, rows: height / 2)
        return luma + zip(u, v).flatMap { [$0, $1] }
    case "YU12": return luma + chroma(1, rows: height / 2) + chroma(3, rows: height / 2)
    case "GREY": return luma
    case "RGB3": return rgb
    case "BA81":  // B G / G R
        return (0..<(width * height)).map { i in
            let x = i % width, y = i / width
            return rgb[i * 3 + (y % 2 == 0 ? (x % 2 == 0 ? 2 : 1) : (x % 2 == 0 ? 1 : 0))]
        }
    default: fatalError("no generator for \(fourcc)")
    }
}

@MainActor func benchmarkFormats(rgb: [UInt8], yuyv: [UInt8], quality: Int) throws {
    let encoder = try JPEGEncoder(quality: quality)
    for name in ["YUYV", "UYVY", "NV12", "YU12", "GREY", "RGB3", "BA81"] {
        let frame = rawFrame(name, rgb: rgb, yuyv: yuyv, width: width, height: height)
        let fourcc = name.utf8.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        let stride = ["YUYV", "UYVY"].contains(name) ? width * 2 : name == "RGB3" ? width * 3 : width  // tight rows
        for transform in [Orientation.Transform.identity, .rotate90] {
            let turn = transform == .identity ? "" : " rotate 90"
            try frame.withUnsafeBytes { raw in
                try measure("\(name)\(turn) convert") {
                    try PlanarImage(converting: raw, fourcc: fourcc, width: width, height: height, bytesPerLine: stride,
                                    transform: transform).byteCount
                }
                try measure("\(name)\(turn) convert+encode q\(quality)") {
                    try encoder.encode(PlanarImage(converting: raw, fourcc: fourcc, width: width, height: height,
                                                   bytesPerLine: stride, transform: transform)).count
                }
            }
        }
    }
}
