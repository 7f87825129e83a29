// TOMLValue and TOMLError: what the parser returns, and where and why it stopped.

/// A TOML value. Tables are dictionaries: the order of keys in the file is not kept.
public enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case bool(Bool)
    /// Offset date-time, local date-time, local date or local time, kept as the text written (validated).
    case datetime(String)
    case array([TOMLValue])
    case table([String: TOMLValue])
}

/// A syntax or definition error at a place in the input.
public struct TOMLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based.
    public let line: Int
    /// 1-based, in Unicode scalars of that line.
    public let column: Int
    /// Input characters quoted in it are escaped (`'\u{1b}'`): it never holds raw control characters.
    public let message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

extension TOMLValue {
    /// "an integer", "an inline table": for messages about a key that already holds this value.
    /// Only inline tables are `.table` while the document is read; tables from headers are nodes.
    var kindName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .datetime: "a date-time"
        case .array: "an array"
        case .table: "an inline table"
        }
    }
}

/// Input text shown in messages: printable characters as they are, anything invisible or control as `\u{…}`.
enum TOMLQuoting {
    static let longest = 48

    static func escaped(_ scalar: Unicode.Scalar) -> String {
        if scalar == " " { return " " }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
             .spaceSeparator, .nonspacingMark, .spacingMark, .enclosingMark:
            return "\\u{" + String(scalar.value, radix: 16) + "}"
        default:
            return String(scalar)
        }
    }

    /// A key as TOML would write it: bare when it can be, else a basic string; long keys are cut short.
    static func key(_ parts: some Sequence<String>) -> String {
        let text = parts.map(part).joined(separator: ".")
        return text.count <= 3 * longest ? text : text.prefix(3 * longest) + "…"
    }

    static func part(_ name: String) -> String {
        if !name.isEmpty, name.utf8.count <= longest, name.utf8.allSatisfy(TOMLScanner.isBareKeyByte) { return name }
        var text = "\""
        for (index, scalar) in name.unicodeScalars.enumerated() {
            if index == longest { text += "…"; break }
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            default: text += escaped(scalar)
            }
        }
        return text + "\""
    }
}
