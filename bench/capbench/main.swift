// capbench: the capture path's cost per frame, measured the way camd runs it (release build):
//   yuyv:        packed YUYV 4:2:2 → JPEG (split into planes + tjCompressFromYUVPlanes), as V4L2Source does
//   passthrough: an MJPEG frame → MJPEGRepair.repair (validate, trim, insert DHT, one copy out of the buffer)
//   lossless:    an MJPEG frame rotated/flipped by JPEGTransformer (rotate/flip on an MJPEG camera)
// Input: a binary PPM (P6), e.g. made by ffmpeg's testsrc2; the same file tjbench compresses.
//   --formats:   instead, each raw camera format's conversion (and encode), unturned and turned 90° (Formats.swift)
// Usage: capbench FILE.ppm [--quality 80] [--seconds 3] [--formats]
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import JPEG

func fail(_ message: String) -> Never {
    _ = Array("capbench: \(message)\n".utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var quality = 80
var seconds = 3.0
if let i = arguments.firstIndex(of: "--quality") { quality = Int(arguments[i + 1]) ?? 80; arguments.removeSubrange(i...i + 1) }
if let i = arguments.firstIndex(of: "--seconds") { seconds = Double(arguments[i + 1]) ?? 3; arguments.removeSubrange(i...i + 1) }
let formatsOnly = arguments.contains("--formats")
arguments.removeAll { $0 == "--formats" }
guard let path = arguments.first else { fail("usage: capbench FILE.ppm [--quality 80] [--seconds 3]") }

// Parse P6: "P6\n<w> <h>\n255\n" then RGB bytes.
let file: [UInt8]
do { file = try Files.read(path) } catch { fail("\(error)") }
var fields: [Int] = []
var index = 2
while fields.count < 3 {
    while index < file.count, file[index] == 0x20 || file[index] == 0x0A || file[index] == 0x0D || file[index] == 0x09 { index += 1 }
    var value = 0
    while index < file.count, file[index] >= 0x30, file[index] <= 0x39 { value = value * 10 + Int(file[index] - 0x30); index += 1 }
    fields.append(value)
}
index += 1
let width = fields[0], height = fields[1]
guard file.starts(with: Array("P6".utf8)), file.count >= index + width * height * 3 else { fail("\(path) is not a binary PPM") }
let rgb = Array(file[index..<(index + width * height * 3)])

// RGB → YUYV (BT.601 limited range), what a camera would deliver.
var yuyv = [UInt8](repeating: 0, count: width * height * 2)
for y in 0..<height {
    for x in stride(from: 0, to: width, by: 2) {
        let p = (y * width + x) * 3
        func luma(_ i: Int) -> Double { 16 + (65.738 * Double(rgb[i]) + 129.057 * Double(rgb[i + 1]) + 25.064 * Double(rgb[i + 2])) / 256 }
        let r = Double(rgb[p]), g = Double(rgb[p + 1]), b = Double(rgb[p + 2])
        let u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
        let v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
        let o = (y * width + x) * 2
        yuyv[o] = UInt8(max(0, min(255, luma(p)))); yuyv[o + 1] = UInt8(max(0, min(255, u)))
        yuyv[o + 2] = UInt8(max(0, min(255, luma(p + 3)))); yuyv[o + 3] = UInt8(max(0, min(255, v)))
    }
}

@MainActor func measure(_ name: String, _ body: () throws -> Int) rethrows {
    let warmupEnd = Clock.monotonicNanos() + 500_000_000
    while Clock.monotonicNanos() < warmupEnd { _ = try body() }
    var count = 0, bytes = 0
    let start = Clock.monotonicNanos()
    let end = start + UInt64(seconds * 1e9)
    while Clock.monotonicNanos() < end { bytes += try body(); count += 1 }
    let elapsed = Double(Clock.monotonicNanos() - start) / 1e9
    let ms = elapsed / Double(count) * 1000
    print("\(name) \(width)x\(height): \(Format.fixed(ms, 3)) ms/frame, \(Format.fixed(Double(count) / elapsed, 3)) frames/s, \(bytes / count) bytes/frame")
}

do {
    if formatsOnly {
        try benchmarkFormats(rgb: rgb, yuyv: yuyv, quality: quality)
        exit(0)
    }
    let encoder = try JPEGEncoder(quality: quality, subsampling: .s422)
    try measure("yuyv→jpeg q\(quality) 4:2:2") {
        try yuyv.withUnsafeBytes { try encoder.encode(yuyv: $0, width: width, height: height, bytesPerLine: width * 2) }.count
    }
    let rgbEncoder = try JPEGEncoder(quality: quality, subsampling: .s422)
    let mjpeg = try rgb.withUnsafeBytes { try rgbEncoder.encode(rgb: $0, width: width, height: height) }
    measure("passthrough (tables present)") {
        guard case .image(let bytes, _) = MJPEGRepair.repair(mjpeg) else { fail("repair rejected the frame") }
        return bytes.count
    }
    let stripped = MJPEGRepair.removingHuffmanTables(mjpeg)
    measure("passthrough (DHT inserted)") {
        guard case .image(let bytes, true) = MJPEGRepair.repair(stripped) else { fail("repair rejected the frame") }
        return bytes.count
    }
    // rotate/flip of an MJPEG frame (PictureTurner): tjTransform, lossless, partial edge MCUs trimmed. Reported as
    // this thread's CPU time per frame too, which other load on the machine inflates far less than wall time.
    func threadCPUNanos() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
    func measureCPU(_ name: String, _ body: () throws -> Int) rethrows {
        let warmupEnd = Clock.monotonicNanos() + 500_000_000
        while Clock.monotonicNanos() < warmupEnd { _ = try body() }
        var count = 0, bytes = 0
        let start = Clock.monotonicNanos(), cpuStart = threadCPUNanos()
        let end = start + UInt64(seconds * 1e9)
        while Clock.monotonicNanos() < end { bytes += try body(); count += 1 }
        let wall = Double(Clock.monotonicNanos() - start) / 1e6 / Double(count)
        let cpu = Double(threadCPUNanos() - cpuStart) / 1e6 / Double(count)
        print("\(name) \(width)x\(height): \(Format.fixed(wall, 3)) ms/frame wall, \(Format.fixed(cpu, 3)) ms/frame CPU, \(bytes / count) bytes/frame")
    }
    let transformer = try JPEGTransformer()
    for transform in [Orientation.Transform.rotate90, .rotate180, .rotate270, .flipHorizontal, .flipVertical] {
        try measureCPU("lossless \(transform) (4:2:2 MJPEG)") { try transformer.transform(mjpeg, transform).jpeg.count }
    }
    // What the lossless transform saves: a decode and an encode of the same frame (without turning the pixels,
    // so a lower bound for the alternative), and the YUYV encode for scale.
    let decoder = try JPEGDecoder()
    try measureCPU("decode+encode (4:2:2, lower bound)") {
        let decoded = try decoder.decodeRGB(mjpeg)
        return try decoded.rgb.withUnsafeBytes { try rgbEncoder.encode(rgb: $0, width: width, height: height) }.count
    }
    try measureCPU("yuyv→jpeg q\(quality) 4:2:2") {
        try yuyv.withUnsafeBytes { try encoder.encode(yuyv: $0, width: width, height: height, bytesPerLine: width * 2) }.count
    }
} catch {
    fail("\(error)")
}
