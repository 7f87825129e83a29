// JPEGFuzz: a camera's bytes — the JPEG scanner splitting a stream into images, and the MJPEG repair that trims a
// frame at EOI and inserts the standard Huffman tables when it has none.
import JPEG

enum JPEGFuzz {
    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        try checkSplit(bytes)
        try checkRepair(bytes)
    }

    /// Each image found lies within the input, in order, from an SOI to an EOI, and is complete on its own.
    static func checkSplit(_ bytes: [UInt8]) throws(FuzzFailure) {
        let split = bytes.withUnsafeBytes { JPEGScanner.split($0) }
        var previousEnd = 0
        for frame in split.frames {
            try require(frame.lowerBound >= previousEnd && frame.upperBound <= bytes.count && frame.count >= 4, "jpeg-split-range",
                        "\(frame) after \(previousEnd) in \(bytes.count) bytes")
            previousEnd = frame.upperBound
            try require(bytes[frame.lowerBound] == 0xFF && bytes[frame.lowerBound + 1] == 0xD8
                            && bytes[frame.upperBound - 2] == 0xFF && bytes[frame.upperBound - 1] == 0xD9,
                        "jpeg-split-markers", "\(frame) does not run from SOI to EOI")
            let image = Array(bytes[frame])
            let end = image.withUnsafeBytes { JPEGScanner.completeImageEnd($0) }
            try require(end == image.count, "jpeg-split-alone", "\(frame) alone ends at \(end.map(String.init) ?? "nil")")
            try require(JPEGScanner.isCompleteImage(image), "jpeg-split-alone", "\(frame) is not a complete image alone")
        }
        try require(split.skipped <= bytes.count, "jpeg-split-skipped", "\(split.skipped) skipped regions in \(bytes.count) bytes")
    }

    /// A repaired image starts with SOI, ends with EOI, grew by at most the tables, has tables, and repairs to itself.
    static func checkRepair(_ bytes: [UInt8]) throws(FuzzFailure) {
        switch MJPEGRepair.repair(bytes) {
        case .invalid(let reason):
            // The reason is counted and logged (rate-limited) by the capture path.
            try require(!reason.isEmpty && !hasControlCharacter(reason), "repair-reason", reason.debugDescription)
        case .image(let image, let inserted):
            try require(image.count >= 4 && image[0] == 0xFF && image[1] == 0xD8, "repair-soi", "output starts \(shown(image.prefix(4)))")
            try require(image[image.count - 2] == 0xFF && image[image.count - 1] == 0xD9, "repair-eoi", "output ends \(shown(image.suffix(4)))")
            let tables = inserted ? MJPEGRepair.standardTables.count : 0
            try require(image.count <= bytes.count + tables, "repair-size", "\(bytes.count) bytes became \(image.count)")
            if !inserted {
                try require(image.elementsEqual(bytes.prefix(image.count)), "repair-trim", "an image without inserted tables is not a prefix of the input")
            }
            try require(JPEGScanner.isCompleteImage(image), "repair-complete", "the output is not one complete image")
            // Repairing a repaired image changes nothing: the inserted tables are found where they were put.
            try require(MJPEGRepair.repair(image) == .image(image, insertedTables: false), "repair-idempotent",
                        "repairing the output again gives \(MJPEGRepair.repair(image))")
        }
    }
}
