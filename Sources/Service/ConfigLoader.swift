// ConfigLoader: reads camd.toml with TOMLKit and applies command-line overrides on top.
import CamdSystem
import TOMLKit

public enum ConfigLoader {
    /// The file camd reads when no --config is given, if it exists.
    public static let defaultPath = "/etc/camd/camd.toml"

    /// Parses TOML text into a Config, with `overrides` (command-line flags) replacing the file's values
    /// before anything is checked, so a flag can correct a bad file. Errors name the key (or the line,
    /// for TOML syntax errors).
    public static func parse(_ text: String, overrides: [(key: String, value: ConfigValue)] = []) throws(ConfigError) -> Config {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(key: "TOML syntax", value: "",
                              problem: "line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        } catch {
            throw ConfigError(key: "TOML syntax", value: "", problem: "\(error)")
        }
        var values: [String: ConfigValue] = [:]
        for key in table.keys { values[key] = convert(table[key]!) }
        return try build(values, overrides: overrides)
    }

    /// Applies file values and overrides over the defaults, in the documented key order so that the
    /// first bad key reported is stable.
    public static func build(_ values: [String: ConfigValue], overrides: [(key: String, value: ConfigValue)]) throws(ConfigError) -> Config {
        var values = values
        for (key, value) in overrides { values[key] = value }
        for key in Set(values.keys).subtracting(Config.keys).sorted() {
            throw ConfigError(key: key, value: "", problem: "unknown key (known keys: \(Config.keys.joined(separator: ", ")))")
        }
        var config = Config()
        for key in Config.keys {
            if let value = values[key] { try config.set(key, value) }
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
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(key: "config file", value: "\"\(path)\"", problem: "is not UTF-8 text")
        }
        return try parse(text, overrides: overrides)
    }

    static func convert(_ value: any TOMLValueConvertible) -> ConfigValue {
        switch value.type {
        case .int: return .integer(value.int!)
        case .double: return .float(value.double!)
        case .string: return .string(value.string!)
        case .bool: return .bool(value.bool!)
        case .array: return .list(value.array!.map { convert($0) })
        case .table:
            let table = value.table!
            var entries: [String: ConfigValue] = [:]
            for key in table.keys { entries[key] = convert(table[key]!) }
            return .table(entries)
        default: return .other("\(value.type)")
        }
    }
}
