// capbench --formats: each raw camera format's conversion to planes (CPixels, via PlanarImage(converting:)) alone and
// with the JPEG encode, unturned and turned 90° (the rotation happens in the same pass). Frames are made from the
// PPM the way a camera would deliver them (YUV formats from the YUYV frame, RGB and Bayer from the RGB pixels).
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import JPEG

/// This thread's CPU time in ns: on a shared machine, what a frame costs camd itself, whatever else runs.
func threadCPUNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Like `measure`, but reports the thread's CPU time per frame beside the wall time.
@MainActor func measureCPU(_ name: String, _ body: () throws -> Int) rethrows {
    let warmupEnd = Clock.monotonicNanos() + 300_000_000
    while Clock.monotonicNanos() < warmupEnd { _ = try body() }
    var count = 0, bytes = 0
    let start = Clock.monotonicNanos(), cpuStart = threadCPUNanos()
    let end = start + UInt64(seconds * 1e9)
    while Clock.monotonicNanos() < end { bytes += try body(); count += 1 }
    let wall = Double(Clock.monotonicNanos() - start) / 1e6 / Double(count)
    let cpu = Double(threadCPUNanos() - cpuStart) / 1e6 / Double(count)
    print("\(name) \(width)x\(height): \(Format.fixed(cpu, 3)) ms CPU/frame (\(Format.fixed(wall, 3)) ms wall), \(bytes / count) bytes/frame")
}

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
                try measureCPU("\(name)\(turn) convert") {
                    try PlanarImage(converting: raw, fourcc: fourcc, width: width, height: height, bytesPerLine: stride,
                                    transform: transform).byteCount
                }
                try measureCPU("\(name)\(turn) convert+encode q\(quality)") {
                    try encoder.encode(PlanarImage(converting: raw, fourcc: fourcc, width: width, height: height,
                                                   bytesPerLine: stride, transform: transform)).count
                }
            }
        }
    }
}
