// TOMLScanner: a cursor over the document's UTF-8 bytes — whitespace, comments, newlines, and error locations.

struct TOMLScanner {
    let bytes: [UInt8]
    /// The next byte to read; never past `bytes.count`.
    private(set) var offset = 0
    /// Where line 1 starts: after a UTF-8 byte order mark, if any.
    private let start: Int

    /// `bytes` must be valid UTF-8 (see `firstInvalidUTF8`).
    init(bytes: [UInt8]) {
        self.bytes = bytes
        start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        offset = start
    }

    // MARK: Cursor

    var isAtEnd: Bool { offset >= bytes.count }

    func peek(_ ahead: Int = 0) -> UInt8? {
        let index = offset + ahead
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func advance(_ count: Int = 1) {
        offset = min(offset + count, bytes.count)
    }

    /// Steps over `byte` if it is next.
    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        offset += 1
        return true
    }

    func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    // MARK: Whitespace, comments, newlines

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }

    /// Tab, or anything but ASCII control characters: what comments and strings may hold as written.
    static func isTextByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    mutating func skipWhitespace() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { offset += 1 }
    }

    /// A line feed or CR LF; a lone carriage return is not a newline.
    mutating func consumeNewline() -> Bool {
        if peek() == 0x0A { offset += 1; return true }
        if peek() == 0x0D && peek(1) == 0x0A { offset += 2; return true }
        return false
    }

    var isAtNewline: Bool { peek() == 0x0A || (peek() == 0x0D && peek(1) == 0x0A) }

    /// A comment up to (not including) the end of its line, if one starts here.
    mutating func skipComment() throws(TOMLError) {
        guard consume(UInt8(ascii: "#")) else { return }
        while let byte = peek(), !isAtNewline {
            guard Self.isTextByte(byte) else {
                throw error("control character \(found()) is not allowed in a comment")
            }
            offset += 1
        }
    }

    /// The end of an expression: whitespace, an optional comment, then a newline or the end of input.
    mutating func expectLineEnd() throws(TOMLError) {
        skipWhitespace()
        try skipComment()
        guard isAtEnd || consumeNewline() else { throw error("expected end of line, found \(found())") }
    }

    /// Whitespace, comments and newlines, as allowed between the values of an array.
    mutating func skipBlankLines() throws(TOMLError) {
        while true {
            skipWhitespace()
            try skipComment()
            guard consumeNewline() else { return }
        }
    }

    // MARK: Errors

    /// An error at `position` (default: the cursor).
    func error(_ message: String, at position: Int? = nil) -> TOMLError {
        let (line, column) = location(of: position ?? offset)
        return TOMLError(line: line, column: column, message: message)
    }

    /// Line and column of a byte offset; columns count Unicode scalars (UTF-8 lead bytes) from the line's start.
    func location(of position: Int) -> (line: Int, column: Int) {
        let end = min(max(position, 0), bytes.count)
        var line = 1
        var lineStart = start
        for index in start..<max(start, end) where bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        var column = 1
        for index in lineStart..<max(lineStart, end) where bytes[index] & 0xC0 != 0x80 { column += 1 }
        return (line, column)
    }

    /// What is at `position`, for "expected …, found …": a quoted, escaped character, "end of line" or "end of input".
    func found(at position: Int? = nil) -> String {
        let position = position ?? offset
        guard position < bytes.count else { return "end of input" }
        if bytes[position] == 0x0A || (bytes[position] == 0x0D && position + 1 < bytes.count && bytes[position + 1] == 0x0A) {
            return "end of line"
        }
        var iterator = bytes[position...].makeIterator()
        var decoder = UTF8()
        guard case .scalarValue(let scalar) = decoder.decode(&iterator) else {
            return "byte 0x" + String(bytes[position], radix: 16)
        }
        return scalar == "'" ? "\"'\"" : "'" + TOMLQuoting.escaped(scalar) + "'"
    }

    // MARK: UTF-8

    /// The offset of the first byte of the first ill-formed UTF-8 sequence (overlong forms, surrogates and
    /// values past U+10FFFF included), or nil if all of `bytes` is UTF-8.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead < 0x80 { index += 1; continue }
            let length: Int
            var secondRange: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; secondRange = 0xA0...0xBF
            case 0xED: length = 3; secondRange = 0x80...0x9F
            case 0xE1...0xEF: length = 3
            case 0xF0: length = 4; secondRange = 0x90...0xBF
            case 0xF4: length = 4; secondRange = 0x80...0x8F
            case 0xF1...0xF3: length = 4
            default: return index
            }
            guard index + length <= bytes.count, secondRange.contains(bytes[index + 1]) else { return index }
            for next in index + 2 ..< index + length where bytes[next] & 0xC0 != 0x80 { return index }
            index += length
        }
        return nil
    }
}
