// TOMLParser: a strict TOML 1.0.0 document parser with bounded input, nesting and work; it throws, never traps.

public enum TOMLParser {
    /// Larger inputs are rejected before anything is read.
    public static let maxInputBytes = 1 << 20
    /// Tables, arrays and inline tables nested in one another, at most.
    public static let maxNesting = 64

    /// Limits: input at most 1 MiB (bytes), nesting (tables, arrays and inline tables together) at most 64,
    /// strings within the input size.
    public static func parse(_ text: String) throws(TOMLError) -> [String: TOMLValue] {
        guard text.utf8.count <= maxInputBytes else { throw tooLarge(text.utf8.count) }
        return try parse(bytes: Array(text.utf8))
    }

    /// As `parse(_:)`; rejects non-UTF-8 input with the line and column of the first bad byte.
    public static func parse(bytes: [UInt8]) throws(TOMLError) -> [String: TOMLValue] {
        guard bytes.count <= maxInputBytes else { throw tooLarge(bytes.count) }
        if let bad = TOMLScanner.firstInvalidUTF8(bytes) {
            throw TOMLScanner(bytes: bytes).error("invalid UTF-8 (byte 0x\(String(bytes[bad], radix: 16)))", at: bad)
        }
        var document = TOMLDocumentParser(bytes: bytes)
        return try document.parse()
    }

    private static func tooLarge(_ count: Int) -> TOMLError {
        TOMLError(line: 1, column: 1, message: "input is \(count) bytes, larger than the limit of \(maxInputBytes)")
    }
}

/// The document grammar: expressions line by line, headers, keys and values.
struct TOMLDocumentParser {
    private var scanner: TOMLScanner
    private let root = TOMLTable(origin: .header, depth: 0)
    /// The table that key/value lines go into: the root, then the last header's table.
    private var current: TOMLTable
    /// Counts headers: tables made by dotted keys belong to the section they were made in.
    private var section = 0

    init(bytes: [UInt8]) {
        scanner = TOMLScanner(bytes: bytes)
        current = root
    }

    mutating func parse() throws(TOMLError) -> [String: TOMLValue] {
        while true {
            scanner.skipWhitespace()
            if scanner.isAtEnd { break }
            switch scanner.peek() {
            case UInt8(ascii: "["): try header()
            case UInt8(ascii: "#"), 0x0A, 0x0D: break
            default: try keyValue(in: current, section: section)
            }
            try scanner.expectLineEnd()
        }
        guard case .table(let entries) = root.value else { return [:] }
        return entries
    }

    /// `[a.b]` or `[[a.b]]`.
    private mutating func header() throws(TOMLError) {
        scanner.advance()
        let isArray = scanner.consume(UInt8(ascii: "["))
        scanner.skipWhitespace()
        let keyStart = scanner.offset
        let path = try key()
        if isArray {
            guard scanner.peek() == UInt8(ascii: "]") && scanner.peek(1) == UInt8(ascii: "]") else {
                throw scanner.error("expected ']]' after the name of an array of tables, found \(scanner.found())")
            }
            scanner.advance(2)
        } else {
            guard scanner.consume(UInt8(ascii: "]")) else {
                throw scanner.error("expected ']' after the table name, found \(scanner.found())")
            }
        }
        section += 1
        do throws(TOMLConflict) {
            current = isArray ? try root.appendTable(path) : try root.defineTable(path)
        } catch {
            throw scanner.error(error.message, at: keyStart)
        }
    }

    /// `key = value`, in a section or an inline table.
    private mutating func keyValue(in table: TOMLTable, section: Int) throws(TOMLError) {
        let keyStart = scanner.offset
        let path = try key()
        guard scanner.consume(UInt8(ascii: "=")) else {
            throw scanner.error("expected '=' after the key, found \(scanner.found())")
        }
        scanner.skipWhitespace()
        let value = try value(level: table.depth + path.count)
        do throws(TOMLConflict) {
            try table.define(path, as: value, section: section)
        } catch {
            throw scanner.error(error.message, at: keyStart)
        }
    }

    /// A bare, quoted or dotted key, and the whitespace after it.
    private mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            guard parts.count < TOMLParser.maxNesting else {
                throw scanner.error("a key can have at most \(TOMLParser.maxNesting) parts")
            }
            switch scanner.peek() {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                parts.append(try scanner.scanString(multilineAllowed: false))
            case let byte? where TOMLScanner.isBareKeyByte(byte):
                let start = scanner.offset
                while let byte = scanner.peek(), TOMLScanner.isBareKeyByte(byte) { scanner.advance() }
                parts.append(scanner.text(start..<scanner.offset))
            default:
                throw scanner.error("expected a key, found \(scanner.found())")
            }
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: ".")) else { return parts }
            scanner.skipWhitespace()
        }
    }

    /// Any value; `level` is the nesting an array or inline table here would have.
    private mutating func value(level: Int) throws(TOMLError) -> TOMLValue {
        switch scanner.peek() {
        case UInt8(ascii: "\""), UInt8(ascii: "'"): .string(try scanner.scanString(multilineAllowed: true))
        case UInt8(ascii: "["): try array(level: level)
        case UInt8(ascii: "{"): try inlineTable(level: level)
        default: try scanner.scanBareValue()
        }
    }

    /// `[ … ]`: values of any types, across lines, with comments and an optional trailing comma.
    private mutating func array(level: Int) throws(TOMLError) -> TOMLValue {
        guard level <= TOMLParser.maxNesting else { throw tooDeep() }
        scanner.advance()
        var elements: [TOMLValue] = []
        while true {
            try scanner.skipBlankLines()
            if scanner.consume(UInt8(ascii: "]")) { return .array(elements) }
            elements.append(try value(level: level + 1))
            try scanner.skipBlankLines()
            if scanner.consume(UInt8(ascii: "]")) { return .array(elements) }
            guard scanner.consume(UInt8(ascii: ",")) else {
                throw scanner.error("expected ',' or ']' in an array, found \(scanner.found())")
            }
        }
    }

    /// `{ a = 1, b.c = 2 }`: on one line, no trailing comma, complete once closed.
    private mutating func inlineTable(level: Int) throws(TOMLError) -> TOMLValue {
        guard level <= TOMLParser.maxNesting else { throw tooDeep() }
        scanner.advance()
        let table = TOMLTable(origin: .header, depth: level)
        scanner.skipWhitespace()
        if scanner.consume(UInt8(ascii: "}")) { return table.value }
        while true {
            try keyValue(in: table, section: 0)
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: "}")) { return table.value }
            let comma = scanner.offset
            guard scanner.consume(UInt8(ascii: ",")) else {
                throw scanner.error("expected ',' or '}' in an inline table, found \(scanner.found())")
            }
            scanner.skipWhitespace()
            if scanner.peek() == UInt8(ascii: "}") {
                throw scanner.error("an inline table cannot end with a comma", at: comma)
            }
        }
    }

    private func tooDeep() -> TOMLError {
        scanner.error("tables, arrays and inline tables nested deeper than \(TOMLParser.maxNesting)")
    }
}
