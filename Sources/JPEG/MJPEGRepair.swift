// MJPEGRepair: makes a camera's MJPEG frame a JPEG every decoder accepts, or rejects it.
// Many UVC cameras omit the Huffman tables (DHT) and rely on the standard ones (ITU-T T.81 Annex K.3,
// as the AVI1/MJPEG convention allows); browsers and most decoders then refuse the image.

public enum MJPEGRepair {
    public enum Outcome: Equatable, Sendable {
        /// A complete image: its bytes (trimmed at EOI) and whether the standard tables were inserted.
        case image([UInt8], insertedTables: Bool)
        /// Not a usable image (no SOI, no EOI, no SOS…): drop and count it.
        case invalid(String)
    }

    /// The largest frame camd accepts from a camera (a sanity bound: 8K MJPEG stays far below it).
    public static let maxFrameBytes = 32 << 20

    /// Validates `bytes` (e.g. a V4L2 buffer's `bytesused`), trims padding after EOI, and inserts the
    /// standard Huffman tables before SOS when the image has none. Copies once, into the result.
    public static func repair(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        guard bytes.count >= 4, bytes.count <= maxFrameBytes else { return .invalid("size \(bytes.count) bytes") }
        guard bytes[0] == 0xFF, bytes[1] == 0xD8 else { return .invalid("no SOI marker") }
        guard let end = JPEGScanner.completeImageEnd(bytes) else { return .invalid("truncated: no EOI after the scan") }
        // Walk the header segments up to SOS, looking for DHT.
        var i = 2
        var hasTables = false
        var sos: Int?
        while i + 3 < end {
            guard bytes[i] == 0xFF else { return .invalid("bad marker at \(i)") }
            let marker = bytes[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0xDA { sos = i; break }
            if marker == 0xC4 { hasTables = true }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            i += 2 + length
        }
        guard let sos else { return .invalid("no SOS marker") }
        if hasTables {
            return .image(Array(bytes[0..<end]), insertedTables: false)
        }
        var out = [UInt8]()
        out.reserveCapacity(end + standardTables.count)
        out.append(contentsOf: bytes[0..<sos])
        out.append(contentsOf: standardTables)
        out.append(contentsOf: bytes[sos..<end])
        return .image(out, insertedTables: true)
    }

    public static func repair(_ bytes: [UInt8]) -> Outcome {
        bytes.withUnsafeBytes { repair($0) }
    }

    /// The image without its DHT segments — what a camera that omits the tables sends (tests, benchmarks).
    public static func removingHuffmanTables(_ jpeg: [UInt8]) -> [UInt8] {
        guard jpeg.count >= 2 else { return jpeg }
        var out = Array(jpeg[0..<2])
        var i = 2
        while i + 3 < jpeg.count {
            let marker = jpeg[i + 1]
            if marker == 0xDA { out += jpeg[i...]; break }
            let end = min(jpeg.count, i + 2 + (Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])))
            if marker != 0xC4 { out += jpeg[i..<end] }
            i = end
        }
        return out
    }

    /// True when the image's header (before SOS) has a DHT segment.
    public static func hasHuffmanTables(_ bytes: [UInt8]) -> Bool {
        var i = 2
        while i + 3 < bytes.count, bytes[i] == 0xFF {
            let marker = bytes[i + 1]
            if marker == 0xDA { return false }
            if marker == 0xC4 { return true }
            i += 2 + (Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]))
        }
        return false
    }

    /// One DHT segment holding the four standard tables of T.81 Annex K.3 (K.3.3.1 and K.3.3.2):
    /// luminance DC (class 0, id 0), luminance AC (1, 0), chrominance DC (0, 1), chrominance AC (1, 1).
    public static let standardTables: [UInt8] = {
        let dcLuminanceCounts: [UInt8] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
        let dcChrominanceCounts: [UInt8] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
        let dcValues: [UInt8] = Array(0...11)
        let acLuminanceCounts: [UInt8] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D]
        let acLuminanceValues: [UInt8] = [
            0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
            0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0,
            0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
            0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
            0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
            0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
            0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
            0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5,
            0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
            0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
            0xF9, 0xFA,
        ]
        let acChrominanceCounts: [UInt8] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77]
        let acChrominanceValues: [UInt8] = [
            0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
            0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0,
            0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26,
            0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
            0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
            0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
            0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
            0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
            0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
            0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
            0xF9, 0xFA,
        ]
        var body: [UInt8] = []
        body += [0x00] + dcLuminanceCounts + dcValues
        body += [0x10] + acLuminanceCounts + acLuminanceValues
        body += [0x01] + dcChrominanceCounts + dcValues
        body += [0x11] + acChrominanceCounts + acChrominanceValues
        let length = body.count + 2
        return [0xFF, 0xC4, UInt8(length >> 8), UInt8(length & 0xFF)] + body
    }()
}
