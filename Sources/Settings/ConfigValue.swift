// ConfigValue and ConfigError: a setting's value as it arrived (file or flag), and the one-line error that
// rejects it.
import CamdSystem

/// A config value as it arrived, from the TOML file or from a command-line flag.
public enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    case integer(Int)
    case float(Double)
    case string(String)
    case bool(Bool)
    case list([ConfigValue])
    case table([String: ConfigValue])
    /// Something TOML can express that no camd key takes (a date).
    case other(String)

    /// A flag's text, typed the way TOML would read it.
    public init(flag text: String) {
        if let int = Int(text) { self = .integer(int) }
        else if let double = Double(text), double.isFinite { self = .float(double) }
        else if text == "true" || text == "false" { self = .bool(text == "true") }
        else { self = .string(text) }
    }

    public var description: String {
        switch self {
        case .integer(let v): return String(v)
        case .float(let v): return String(v)
        // As TOML writes it: a value from a file or a command never puts a control character into a message.
        case .string(let v): return Format.quoted(v)
        case .bool(let v): return String(v)
        case .list(let values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .table(let values): return "{ " + values.sorted { $0.key < $1.key }.map { "\(Self.key($0.key)) = \($0.value)" }.joined(separator: ", ") + " }"
        case .other(let v): return v
        }
    }

    var containsControlCharacters: Bool {
        switch self {
        case .string(let v): return v.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
        case .list(let values): return values.contains(where: \.containsControlCharacters)
        case .table(let entries): return entries.values.contains(where: \.containsControlCharacters)
        default: return false
        }
    }

    /// A key as TOML would write it: bare when it can be, else quoted.
    static func key(_ name: String) -> String {
        let bare = !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        return bare ? name : Format.quoted(name)
    }
}

/// A rejected setting: the key, the value given, and what is allowed. Exit status 78 (EX_CONFIG).
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public static let exitStatus: Int32 = 78
    public let key: String
    public let value: String
    public let problem: String

    public init(key: String, value: String, problem: String) {
        self.key = key
        self.value = value
        self.problem = problem
    }

    public var description: String {
        value.isEmpty ? "\(key): \(problem)" : "\(key) = \(value): \(problem)"
    }

    /// A key the table does not have (`key` as it should be shown).
    static func unknownKey(_ key: String) -> ConfigError {
        ConfigError(key: key, value: "", problem: "unknown key (known keys: \(ConfigKey.all.map(\.name).joined(separator: ", ")))")
    }
}
