// MJPEGRecorder: `camview --record FILE` — every received camera frame appended as it arrived, JPEG after JPEG.
// That is a raw MJPEG stream: ffplay/ffprobe/VLC play it (ffmpeg's mjpeg demuxer) and camd's `file:` source
// replays it. Written on the reader thread, so a slow display never costs a recorded frame.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Locking

public final class MJPEGRecorder: Sendable {
    public let path: String
    private let fd: Int32
    private let counts = LockedValue((frames: 0, bytes: 0, placeholders: 0))

    /// Creates (truncates) `path`.
    public init(path: String) throws(SystemError) {
        self.path = path
        fd = try syscall("open \(path)") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
    }

    deinit { _ = close(fd) }

    /// Appends one frame; nil on success, else why recording failed. No-signal placeholders are left out:
    /// they are camd's card, not footage, and a replay of the file should show only what the camera saw.
    func write(_ frame: ViewFrame) -> String? {
        if frame.isPlaceholder {
            counts.withLock { $0.placeholders += 1 }
            return nil
        }
        do { try Files.writeAll(fd, frame.jpeg) } catch { return "cannot write the recording \(path): \(error.message)" }
        counts.withLock { $0.frames += 1; $0.bytes += frame.jpeg.count }
        return nil
    }

    /// "recorded 120 frames (3.1 MB) to out.mjpeg".
    public var summary: String {
        let c = counts.withLock { $0 }
        let skipped = c.placeholders > 0 ? ", \(c.placeholders) no-signal frames left out" : ""
        return "recorded \(c.frames) frames (\(Format.fixed(Double(c.bytes) / 1e6, 1)) MB) to \(path)\(skipped)"
    }
}
