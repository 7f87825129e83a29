// ConfigLoader: reads camd.toml with camd's own strict TOML parser (Sources/TOML) and applies command-line
// overrides on top. A file's bytes are outside input: any of them gives a value or one line of error, never a
// crash (TOMLKit's toml++ asserted on a lone "[", which killed a running camd on reload).
import CamdSystem
import TOML

public enum ConfigLoader {
    /// The file camd reads when no --config is given, if it exists.
    public static let defaultPath = "/etc/camd/camd.toml"

    /// Parses TOML text into a Config, with `overrides` (command-line flags) replacing the file's values
    /// before anything is checked, so a flag can correct a bad file. Errors name the key, or for TOML syntax
    /// errors the file (`origin`), line and column.
    public static func parse(_ text: String, origin: String? = nil,
                             overrides: [(key: String, value: ConfigValue)] = []) throws(ConfigError) -> Config {
        try build(try table(TOMLParser.parse(text), origin: origin), overrides: overrides)
    }

    /// The same from the file's bytes (not UTF-8 is a syntax error at the offending byte).
    public static func parse(bytes: [UInt8], origin: String, overrides: [(key: String, value: ConfigValue)]) throws(ConfigError) -> Config {
        try build(try table(TOMLParser.parse(bytes: bytes), origin: origin), overrides: overrides)
    }

    /// Runs the parser and turns its error into camd's one-line config error.
    private static func table(_ parse: @autoclosure () throws(TOMLError) -> [String: TOMLValue],
                              origin: String?) throws(ConfigError) -> [String: ConfigValue] {
        do {
            return try parse().mapValues(convert)
        } catch {
            throw ConfigError(key: "TOML syntax", value: "", problem: (origin.map { "\($0) " } ?? "") + error.description)
        }
    }

    /// Applies file values and overrides over the defaults, in the documented key order so that the
    /// first bad key reported is stable.
    public static func build(_ values: [String: ConfigValue], overrides: [(key: String, value: ConfigValue)]) throws(ConfigError) -> Config {
        var values = values
        for (key, value) in overrides { values[key] = value }
        for key in Set(values.keys).subtracting(ConfigKey.all.map(\.name)).sorted() {
            throw ConfigError.unknownKey(ConfigValue.key(key))
        }
        var config = Config()
        for key in ConfigKey.all {
            if let value = values[key.name] { try config.set(key.name, value) }
        }
        try config.validate()
        return config
    }

    /// Reads a config file (missing or unreadable is an error naming the path).
    public static func load(path: String, overrides: [(key: String, value: ConfigValue)] = []) throws(ConfigError) -> Config {
        let bytes: [UInt8]
        do { bytes = try Files.read(path) } catch {
            throw ConfigError(key: "config file", value: "\"\(path)\"", problem: "cannot read it: \(error)")
        }
        return try parse(bytes: bytes, origin: path, overrides: overrides)
    }

    static func convert(_ value: TOMLValue) -> ConfigValue {
        switch value {
        case .integer(let v): return Int(exactly: v).map { .integer($0) } ?? .other("integer \(v)")
        case .float(let v): return .float(v)
        case .string(let v): return .string(v)
        case .bool(let v): return .bool(v)
        case .datetime(let text): return .other("date-time \(text)")
        case .array(let values): return .list(values.map(convert))
        case .table(let entries): return .table(entries.mapValues(convert))
        }
    }
}
