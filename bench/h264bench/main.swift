// h264bench: camd's H.264 encoder (H264Encoder: libx264 through libavcodec, the settings camd uses) over raw
// yuv420p frames, the same file `ffmpeg -f rawvideo … -c:v libx264` reads in bench/h264-encode.sh. The frames are
// loaded into PlanarImages first; the timed part is what camd would pay per frame: the copy into the encoder's
// picture and the encode. Prints one line: `h264bench WxH frames=N utime=S stime=S rtime=S bytes=B keyframes=K`.
// Usage: h264bench FRAMES.yuv WIDTH HEIGHT [--fps 30] [--bitrate 2000000] [--gop 30] [--encoder libx264] [--out FILE]
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import H264
import H264Encoding
import JPEG
import Logging

func fail(_ message: String) -> Never {
    _ = Array("h264bench: \(message)\n".utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String, _ fallback: String) -> String {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return fallback }
    defer { arguments.removeSubrange(i...i + 1) }
    return arguments[i + 1]
}
let fps = Int(option("--fps", "30")) ?? 30
let bitrate = Int(option("--bitrate", "2000000")) ?? 2_000_000
let gop = Int(option("--gop", "30")) ?? 30
guard let choice = H264EncoderSettings.Choice(rawValue: option("--encoder", "libx264")) else { fail("unknown --encoder") }
let outPath = option("--out", "")
guard arguments.count == 3, let width = Int(arguments[1]), let height = Int(arguments[2]), width > 0, height > 0 else {
    fail("usage: h264bench FRAMES.yuv WIDTH HEIGHT [--fps 30] [--bitrate 2000000] [--gop 30] [--encoder libx264] [--out FILE]")
}

let file: [UInt8]
do { file = try Files.read(arguments[0]) } catch { fail("\(error)") }
let frameBytes = width * height + 2 * ((width + 1) / 2) * ((height + 1) / 2)
guard file.count >= frameBytes else { fail("\(arguments[0]) holds less than one \(width)x\(height) yuv420p frame") }
let pictures: [PlanarImage] = stride(from: 0, through: file.count - frameBytes, by: frameBytes).map { offset in
    let picture = PlanarImage(width: width, height: height, layout: .s420)
    file.withUnsafeBufferPointer { picture.plane(0).update(from: $0.baseAddress! + offset, count: picture.byteCount) }
    return picture
}

var logger = Logger(label: "h264bench") { StreamLogHandler.standardError(label: $0) }
logger.logLevel = .warning
let encoder: H264Encoder
do {
    encoder = try H264Encoder(settings: H264EncoderSettings(encoder: choice, bitrate: bitrate, gop: gop, fps: fps, width: width,
                                                            height: height), logger: logger)
} catch { fail("\(error)") }

func cpuSeconds() -> (user: Double, system: Double) {
    var usage = rusage()
    _ = getrusage(RUSAGE_SELF.rawValue, &usage)
    return (Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
            Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6)
}

var units: [EncodedAccessUnit] = []
units.reserveCapacity(pictures.count)
let cpuStart = cpuSeconds(), wallStart = Clock.monotonicNanos()
do {
    for (index, picture) in pictures.enumerated() {
        units += try encoder.encode(picture, sequence: UInt64(index + 1), timestampNanos: UInt64(index) * 1_000_000_000 / UInt64(fps))
    }
    units += try encoder.flush()
} catch { fail("\(error)") }
let wall = Double(Clock.monotonicNanos() - wallStart) / 1e9, cpuEnd = cpuSeconds()

let bytes = units.reduce(0) { $0 + $1.bytes.count }
if !outPath.isEmpty {
    let stream = units.flatMap(\.bytes)
    guard let out = fopen(outPath, "wb"), fwrite(stream, 1, stream.count, out) == stream.count, fclose(out) == 0 else {
        fail("cannot write \(outPath)")
    }
}
print("h264bench \(width)x\(height) encoder=\(encoder.report.codec) threads=\(encoder.report.threads) frames=\(pictures.count)"
      + " utime=\(Format.fixed(cpuEnd.user - cpuStart.user, 3)) stime=\(Format.fixed(cpuEnd.system - cpuStart.system, 3))"
      + " rtime=\(Format.fixed(wall, 3)) bytes=\(bytes) keyframes=\(units.filter(\.isKeyframe).count)")
