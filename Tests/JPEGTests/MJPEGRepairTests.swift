// MJPEG repair: the standard Huffman tables are exactly libjpeg's, inserted where cameras omit them.
import JPEG
import Testing

private func encoded() throws -> [UInt8] {
    let width = 48, height = 32
    let pixels = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 * 7) }
    let encoder = try JPEGEncoder(quality: 75)
    return try pixels.withUnsafeBytes { try encoder.encode(rgb: $0, width: width, height: height) }
}

/// Returns the bodies of the DHT segments (without marker and length) and the image without them.
private func splitTables(_ jpeg: [UInt8]) -> (tables: [UInt8], rest: [UInt8]) {
    var tables: [UInt8] = [], rest = Array(jpeg[0..<2])
    var i = 2
    while i + 3 < jpeg.count {
        let marker = jpeg[i + 1]
        if marker == 0xDA { rest += jpeg[i...]; break }
        let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
        if marker == 0xC4 { tables += jpeg[(i + 4)..<(i + 2 + length)] } else { rest += jpeg[i..<(i + 2 + length)] }
        i += 2 + length
    }
    return (tables, rest)
}

struct MJPEGRepairTests {
    @Test func theStandardTablesAreTheOnesLibjpegUses() throws {
        // libjpeg-turbo (without optimize_coding) writes exactly the Annex K.3 tables, in the same order.
        let (tables, _) = splitTables(try encoded())
        #expect(Array(MJPEGRepair.standardTables.dropFirst(4)) == tables)
        #expect(MJPEGRepair.standardTables.count == 4 + 416)   // FF C4, length 418, 2×(17+12) DC + 2×(17+162) AC
    }

    @Test func tablesAreInsertedBeforeTheScanWhenMissing() throws {
        let original = try encoded()
        let (_, stripped) = splitTables(original)
        #expect(MJPEGRepair.removingHuffmanTables(original) == stripped)
        #expect(!MJPEGRepair.hasHuffmanTables(stripped))
        guard case .image(let repaired, let inserted) = MJPEGRepair.repair(stripped) else { Issue.record("rejected"); return }
        #expect(inserted)
        #expect(MJPEGRepair.hasHuffmanTables(repaired))
        let decoder = try JPEGDecoder()
        #expect(try decoder.decodeRGB(repaired).rgb == decoder.decodeRGB(original).rgb)
    }

    @Test func completeImagesWithTablesAreCopiedAndTrimmedAtEOI() throws {
        let original = try encoded()
        #expect(MJPEGRepair.repair(original + [0, 0, 0, 0]) == .image(original, insertedTables: false))
    }

    @Test(arguments: [("truncated", 0.5), ("no SOI", -1.0), ("tiny", 0.0)])
    func brokenFramesAreRejected(name: String, keep: Double) throws {
        let original = try encoded()
        let bytes: [UInt8]
        switch keep {
        case 0.0: bytes = [0xFF]
        case -1.0: bytes = Array(original.dropFirst(2))
        default: bytes = Array(original.prefix(Int(Double(original.count) * keep)))
        }
        guard case .invalid = MJPEGRepair.repair(bytes) else { Issue.record("\(name) frame accepted"); return }
    }

    @Test func yuyvEncodingDecodesToTheSamePicture() throws {
        // Two 2-pixel-wide columns: Y=235 (white) and Y=81,U=90,V=240 (red), 4:2:2.
        let width = 32, height = 16
        var yuyv = [UInt8](repeating: 0, count: width * height * 2)
        for y in 0..<height {
            for x in stride(from: 0, to: width, by: 2) {
                let i = (y * width + x) * 2
                let (Y, U, V): (UInt8, UInt8, UInt8) = x < width / 2 ? (235, 128, 128) : (81, 90, 240)
                yuyv[i] = Y; yuyv[i + 1] = U; yuyv[i + 2] = Y; yuyv[i + 3] = V
            }
        }
        let encoder = try JPEGEncoder(quality: 90)
        let jpeg = try yuyv.withUnsafeBytes { try encoder.encode(yuyv: $0, width: width, height: height, bytesPerLine: width * 2) }
        let decoded = try JPEGDecoder().decodeRGB(jpeg)
        #expect(decoded.info == JPEGInfo(width: width, height: height))
        let left = (8 * width + 4) * 3, right = (8 * width + 28) * 3
        #expect(decoded.rgb[left] > 220 && decoded.rgb[left + 1] > 220 && decoded.rgb[left + 2] > 220)
        #expect(decoded.rgb[right] > 200 && decoded.rgb[right + 1] < 50 && decoded.rgb[right + 2] < 50)
    }
}
