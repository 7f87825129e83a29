// What the encoder tests share: moving test pictures in every layout, the real ffprobe/ffmpeg, and a log handler
// that keeps what the encoder (and libav through it) logged.
import Foundation
import H264
import H264Encoding
import JPEG
import Logging
import Testing

/// Pictures that move every frame: a noise texture scrolled diagonally (so each frame costs bits, like a busy
/// scene), written one row at a time (cheap even in a debug build).
struct MovingPattern {
    let width: Int
    let height: Int
    private let texture: [UInt8]
    private let textureWidth: Int
    private let textureHeight: Int

    init(width: Int, height: Int, seed: UInt64 = 16) {
        self.width = width
        self.height = height
        textureWidth = width + 512
        textureHeight = height + 512
        var state = seed
        var texture = [UInt8](repeating: 0, count: textureWidth * textureHeight)
        for index in texture.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Smooth-ish noise: a gradient plus random detail, so the picture is neither flat nor pure noise.
            texture[index] = UInt8(truncatingIfNeeded: (index % textureWidth) / 4 + Int(state >> 58))
        }
        self.texture = texture
    }

    func frame(_ index: Int, layout: PlanarImage.Layout = .s420) -> PlanarImage {
        let image = PlanarImage(width: width, height: height, layout: layout)
        let dx = (index * 7) % 512, dy = (index * 3) % 512
        texture.withUnsafeBufferPointer { texture in
            for plane in 0..<(layout == .gray ? 1 : 3) {
                let stride = image.strides[plane]
                let rows = plane == 0 || layout == .s422 || layout == .s444 ? height : (height + 1) / 2
                for row in 0..<rows {
                    let source = texture.baseAddress! + ((row + dy + plane * 97) % textureHeight) * textureWidth + dx
                    (image.plane(plane) + row * stride).update(from: source, count: stride)
                }
            }
        }
        return image
    }
}

/// A picture of one colour.
func flatPicture(width: Int, height: Int, layout: PlanarImage.Layout, y: UInt8, u: UInt8, v: UInt8) -> PlanarImage {
    let image = PlanarImage(width: width, height: height, layout: layout)
    let values = [y, u, v]
    let rows = [height] + Array(repeating: layout == .s420 ? (height + 1) / 2 : height, count: 2)
    for plane in 0..<(layout == .gray ? 1 : 3) {
        image.plane(plane).update(repeating: values[plane], count: image.strides[plane] * rows[plane])
    }
    return image
}

/// Keeps log messages (the encoder tests run serialized: libav's log callback is process-wide).
final class LogCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var messages: [String] { lock.withLock { lines } }
    func append(_ line: String) { lock.withLock { lines.append(line) } }

    var logger: Logger {
        var logger = Logger(label: "h264-test") { _ in CollectingHandler(collector: self) }
        logger.logLevel = .debug
        return logger
    }

    struct CollectingHandler: LogHandler {
        let collector: LogCollector
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            collector.append("\(event.level): \(event.message)")
        }
    }
}

struct ToolResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a real tool to completion (bounded by the tool: ffprobe and ffmpeg end at the end of a file). Output goes
/// to files, so neither stream can fill a pipe and block the tool.
func run(_ tool: String, _ arguments: [String]) throws -> ToolResult {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("stdout"), errURL = directory.appendingPathComponent("stderr")
    guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
          FileManager.default.createFile(atPath: errURL.path, contents: nil) else { throw ToolFailure(text: "cannot create \(directory.path)") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    process.waitUntilExit()
    return ToolResult(status: process.terminationStatus,
                      stdout: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
                      stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self))
}

/// A scratch directory removed by the caller's defer.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("h264-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// ffprobe's view of a raw H.264 file: codec, size and the number of frames it decoded.
func probe(_ file: URL) throws -> (codec: String, width: Int, height: Int, frames: Int) {
    let result = try run("ffprobe", ["-v", "error", "-f", "h264", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                     "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", file.path])
    let fields = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").map(String.init)
    guard result.status == 0, fields.count == 4 else { throw ToolFailure(text: "ffprobe: \(result.stdout) \(result.stderr)") }
    return (fields[0], Int(fields[1]) ?? -1, Int(fields[2]) ?? -1, Int(fields[3]) ?? -1)
}

/// ffmpeg's decoder over the whole file: the lines it printed at -v error (none for a clean stream).
func decodeErrors(_ file: URL) throws -> [String] {
    let result = try run("ffmpeg", ["-nostdin", "-v", "error", "-f", "h264", "-i", file.path, "-f", "null", "-"])
    let lines = result.stderr.split(separator: "\n").map(String.init)
    return result.status == 0 ? lines : lines + ["exit status \(result.status)"]
}

/// The first decoded picture of a raw H.264 file as yuv420p bytes.
func firstDecodedPicture(_ file: URL) throws -> [UInt8] {
    let out = file.deletingLastPathComponent().appendingPathComponent("first.yuv")
    let result = try run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "h264", "-i", file.path, "-frames:v", "1", "-f", "rawvideo",
                                    "-pix_fmt", "yuv420p", out.path])
    guard result.status == 0, let data = FileManager.default.contents(atPath: out.path) else {
        throw ToolFailure(text: "ffmpeg: \(result.stderr)")
    }
    return [UInt8](data)
}

struct ToolFailure: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}

/// The Annex-B stream of `units`, written to `name` in `directory`.
func write(_ units: [EncodedAccessUnit], to directory: URL, name: String = "out.h264") throws -> URL {
    let url = directory.appendingPathComponent(name)
    try Data(units.flatMap(\.bytes)).write(to: url)
    return url
}
