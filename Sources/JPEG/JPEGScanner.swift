// JPEGScanner: finds complete JPEG images (SOI … EOI) in a byte stream by walking its markers.
#if canImport(Glibc)
import Glibc
#endif

public enum JPEGScanner {
    /// The result of splitting a byte stream into JPEG images.
    public struct Split: Equatable, Sendable {
        /// Byte ranges of complete images, in order.
        public var frames: [Range<Int>] = []
        /// Regions that were not a complete image (junk, truncated images), each counted once.
        public var skipped = 0
    }

    /// Splits concatenated JPEGs (an MJPEG file). Marker segments are skipped by their lengths and
    /// entropy-coded data is scanned for the next real marker (0xFF followed by neither 0x00 nor RSTn),
    /// so 0xFFD9 bytes inside headers (e.g. EXIF thumbnails) do not end an image early.
    public static func split(_ bytes: UnsafeRawBufferPointer) -> Split {
        var split = Split()
        var position = 0
        let count = bytes.count
        // Bytes after a truncated image up to the next SOI belong to that image, already counted.
        var afterTruncated = false
        while position < count {
            guard let start = findSOI(bytes, from: position) else {
                if !afterTruncated { split.skipped += 1 }
                break
            }
            if start > position && !afterTruncated { split.skipped += 1 }
            afterTruncated = false
            switch walk(bytes, soi: start) {
            case .complete(let end):
                split.frames.append(start..<end)
                position = end
            case .truncated:
                // Look for the next image right after this SOI: a cut-off image's length fields may
                // point anywhere, including past the start of the next image.
                split.skipped += 1
                position = start + 2
                afterTruncated = true
            }
        }
        return split
    }

    /// The end (exclusive) of the single complete JPEG that starts at offset 0, or nil.
    public static func completeImageEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard count(bytes) >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        if case .complete(let end) = walk(bytes, soi: 0) { return end }
        return nil
    }

    /// True when `bytes` is exactly one complete JPEG, allowing trailing zero padding.
    public static func isCompleteImage(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let end = completeImageEnd(raw) else { return false }
            return raw[end...].allSatisfy { $0 == 0 }
        }
    }

    private static func count(_ bytes: UnsafeRawBufferPointer) -> Int { bytes.count }

    private enum Walk { case complete(end: Int), truncated }

    private static func findSOI(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        while i + 2 < bytes.count {
            if bytes[i] == 0xFF && bytes[i + 1] == 0xD8 && bytes[i + 2] == 0xFF { return i }
            i += 1
        }
        return nil
    }

    private static func walk(_ bytes: UnsafeRawBufferPointer, soi: Int) -> Walk {
        let count = bytes.count
        var i = soi + 2
        while true {
            // Expect a marker: 0xFF, possibly padded with more 0xFF.
            guard i < count, bytes[i] == 0xFF else { return .truncated }
            while i < count && bytes[i] == 0xFF { i += 1 }
            guard i < count else { return .truncated }
            let marker = bytes[i]
            i += 1
            switch marker {
            case 0xD9:
                return .complete(end: i)
            case 0xD8:
                // A new image began before this one ended.
                return .truncated
            case 0x01, 0xD0...0xD7:
                continue
            default:
                guard i + 1 < count else { return .truncated }
                let length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
                guard length >= 2 else { return .truncated }
                i += length
                guard i <= count else { return .truncated }
                if marker == 0xDA {
                    // Entropy-coded data: runs until 0xFF followed by a byte that is not 0x00 or RSTn.
                    while true {
                        // memchr keeps the common case (no 0xFF) fast even in debug builds.
                        guard i < count, let hit = memchr(bytes.baseAddress! + i, 0xFF, count - i) else {
                            return .truncated
                        }
                        i = UnsafeRawPointer(hit) - bytes.baseAddress!
                        guard i + 1 < count else { return .truncated }
                        if bytes[i] == 0xFF {
                            let next = bytes[i + 1]
                            if next != 0x00 && !(0xD0...0xD7).contains(next) && next != 0xFF { break }
                            if next == 0xFF { i += 1; continue }
                            i += 2
                        } else {
                            i += 1
                        }
                    }
                }
            }
        }
    }
}
