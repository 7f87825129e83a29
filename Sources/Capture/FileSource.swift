// FileSource: replays a concatenated MJPEG file or a directory of .jpg files, in a loop, without re-encoding.
import CamdSystem
import JPEG

public final class FileSource: FrameSource {
    private enum Entry {
        case slice(offset: Int, length: Int)
        case file(path: String)
    }

    public let name: String
    public private(set) var invalidFrames: UInt64 = 0
    /// Number of frames in one loop of the replay.
    public var frameCount: Int { entries.count }
    private var entries: [Entry] = []
    private let path: String
    private let file: Descriptor?
    private var position = 0
    private let decoder: JPEGDecoder

    /// Indexes `path` once: a directory's `.jpg`/`.jpeg` files (sorted by name), or the complete JPEGs
    /// inside a concatenated file (junk and truncated images are skipped and counted).
    public init(path: String) throws(SourceError) {
        self.path = path
        name = "file:\(path)"
        do { decoder = try JPEGDecoder() } catch { throw SourceError("file:\(path): \(error)") }
        guard Files.exists(path) else { throw SourceError("\(path): no such file or directory") }
        do {
            if Files.isDirectory(path) {
                file = nil
                let names = try Files.list(path).filter {
                    let lower = $0.lowercased()
                    return lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg")
                }
                entries = names.map { .file(path: path + "/" + $0) }
                guard !entries.isEmpty else { throw SourceError("\(path): directory has no .jpg files") }
            } else {
                let split = try Files.withMapped(path) { JPEGScanner.split($0) }
                invalidFrames = UInt64(split.skipped)
                entries = split.frames.map { .slice(offset: $0.lowerBound, length: $0.count) }
                guard !entries.isEmpty else {
                    throw SourceError("\(path): no complete JPEG images (SOI…EOI) in the file")
                }
                file = try Files.open(path)
            }
        } catch let error as SourceError {
            throw error
        } catch {
            throw SourceError("\(path): \(error)")
        }
    }

    deinit { file?.close() }

    public func nextFrame(index: UInt64, timestampNanos: UInt64) throws(SourceError) -> SourceFrame? {
        // Try each entry at most once per call: a directory whose files all went bad is an error, not a spin.
        for _ in 0..<entries.count {
            let entry = entries[position]
            position = (position + 1) % entries.count
            let bytes: [UInt8]
            do {
                switch entry {
                case .slice(let offset, let length):
                    bytes = try Files.read(file!, offset: offset, count: length, path: path)
                case .file(let filePath):
                    bytes = try Files.read(filePath)
                    guard JPEGScanner.isCompleteImage(bytes) else { invalidFrames += 1; continue }
                }
            } catch {
                invalidFrames += 1
                continue
            }
            guard let info = try? decoder.info(bytes) else { invalidFrames += 1; continue }
            return SourceFrame(payload: bytes, width: info.width, height: info.height)
        }
        throw SourceError("\(path): no readable JPEG frames left")
    }
}
