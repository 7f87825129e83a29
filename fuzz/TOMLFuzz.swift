// TOMLFuzz: the TOML parser alone. Every input must parse or throw a located error without control characters;
// whatever parses must, written back as TOML, parse to the same value.
import TOML

enum TOMLFuzz {
    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        let document: [String: TOMLValue]
        do {
            document = try TOMLParser.parse(bytes: bytes)
        } catch {
            let lines = bytes.count { $0 == 0x0A } + 1
            try require(error.line >= 1 && error.line <= lines && error.column >= 1, "toml-error-location", "\(error)")
            try require(!hasControlCharacter(error.message), "toml-error-control-character", error.message.debugDescription)
            return
        }
        let written = TOMLWriter.document(document)
        let reread: [String: TOMLValue]
        do { reread = try TOMLParser.parse(written) } catch { throw FuzzFailure("toml-round-trip", "\(error)\n\(written)") }
        try require(TOMLWriter.same(.table(reread), .table(document)), "toml-round-trip", "the value changed:\n\(written)")
    }
}

/// Writes a value back as TOML: one `"key" = value` line per root key, tables as inline tables.
enum TOMLWriter {
    static func document(_ table: [String: TOMLValue]) -> String {
        table.map { key, value in string(key) + " = " + write(value) + "\n" }.joined()
    }

    static func write(_ value: TOMLValue) -> String {
        switch value {
        case .string(let text): string(text)
        case .integer(let number): String(number)
        case .float(let number): number.isNaN ? "nan" : number.description
        case .bool(let flag): flag ? "true" : "false"
        case .datetime(let text): text
        case .array(let elements): "[" + elements.map(write).joined(separator: ", ") + "]"
        case .table(let entries): "{" + entries.map { string($0.key) + " = " + write($0.value) }.joined(separator: ", ") + "}"
        }
    }

    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Equality with NaN equal to NaN.
    static func same(_ a: TOMLValue, _ b: TOMLValue) -> Bool {
        switch (a, b) {
        case (.float(let x), .float(let y)): (x.isNaN && y.isNaN) || x.bitPattern == y.bitPattern
        case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy(same)
        case (.table(let x), .table(let y)):
            x.count == y.count && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
        default: a == b
        }
    }
}
