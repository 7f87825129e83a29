// ConfigKey: one row of the key table (ConfigKeys.swift) — a key's name, its check, how it is shown, its
// command-line flag and help line, and how a change of it reaches the running daemon.
import CamdSystem

/// How a change of a key reaches the running daemon (reload or `camctl set`).
public enum ConfigApply: Sendable, Hashable, CaseIterable {
    /// At once: the next viewer, request or tick sees it.
    case live
    /// The capture thread adjusts without reopening its source (quality; fps of clock-paced sources).
    case captureAdjust
    /// The capture thread is restarted with a new source; the old one releases the camera first.
    case captureRestart
    /// The listeners are re-bound: new addresses first, then the old ones closed (viewers stay).
    case listeners
    /// Only a restart applies it: a reload keeps the running value and says so.
    case nextStart
}

/// How a key's command-line flag reads its text.
public struct ConfigFlag: Sendable {
    public enum Form: Sendable {
        /// One value, typed the way TOML would read it ("30" an integer, "12.5" a float, else a string).
        case typed
        /// One string, as given.
        case text
        /// Repeatable "HOST:PORT"; with `off`, the single value "off" means none.
        case addresses(off: Bool)
        /// Repeatable NAME=VALUE camera controls.
        case controls
        /// Repeatable strings, a list.
        case list
    }

    /// The long name, without "--".
    public let name: String
    public let form: Form
    /// What `--help` shows for the value (nil: the parser's own, from the option's property name).
    public let valueName: String?

    public var isRepeatable: Bool {
        switch form {
        case .addresses, .controls, .list: return true
        case .typed, .text: return false
        }
    }

    /// The key's value from the flag's texts, one per occurrence (at least one).
    public func value(_ texts: [String]) -> ConfigValue {
        switch form {
        case .typed: return ConfigValue(flag: texts[texts.count - 1])
        case .text: return .string(texts[texts.count - 1])
        case .addresses(let off): return .list(off && texts == ["off"] ? [] : texts.map { .string($0) })
        case .list: return .list(texts.map { .string($0) })
        case .controls:
            var table: [String: ConfigValue] = [:]
            for item in texts {
                // "brightness=128"; a missing name or "=" is left for the key's check to name.
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                table[String(parts[0])] = parts.count == 2 ? ConfigValue(flag: String(parts[1])) : .string("")
            }
            return .table(table)
        }
    }
}

/// One key of camd's configuration.
public struct ConfigKey: Sendable {
    /// The name in the config file, in `camctl set` and in reload's messages.
    public let name: String
    /// What the key means, for `camd --help` (see `flagHelp`).
    public let help: String
    /// How a change reaches the running daemon (for fps it depends on the source: `applies(with:)`).
    public let applies: ConfigApply
    /// `camctl set` may change it on the running daemon.
    public let isSettableLive: Bool
    /// The command-line flag; nil for secrets, which do not belong on a command line (ps shows it).
    public let flag: ConfigFlag?
    /// Never shown, not even in an error message or a change line (http_auth, http_token).
    public let isSecret: Bool
    /// A camera negotiates this key with its driver, so for a camera a change reopens it (fps).
    let negotiatedByCamera: Bool
    /// Said after the default in `--help` ("; 0 = off"), or instead of it when the default says nothing.
    let helpNote: HelpNote

    enum HelpNote {
        case afterDefault(String)
        case insteadOfDefault(String)
    }

    /// Checks `value` and stores it.
    let assign: @Sendable (inout Config, ConfigValue) throws(ConfigError) -> Void
    /// The key's value in two configurations is the same.
    let same: @Sendable (Config, Config) -> Bool
    /// Gives `config` the key's value from `source`.
    let copy: @Sendable (_ source: Config, _ config: inout Config) -> Void
    /// The key's value as reload's change lines and `camctl set` show it ("30", "12.5", "0.0.0.0:9999").
    let text: @Sendable (Config) -> String

    init<Value: Equatable & Sendable>(_ name: String, _ path: any WritableKeyPath<Config, Value> & Sendable, _ check: ConfigCheck<Value>,
                                      _ applies: ConfigApply, flag: ConfigFlag.Form?, valueName: String? = nil, flagName: String? = nil,
                                      settableLive: Bool = false, negotiatedByCamera: Bool = false, secret: Bool = false,
                                      help: String, note: HelpNote = .afterDefault("")) {
        self.name = name
        self.help = help
        self.applies = applies
        self.isSettableLive = settableLive
        self.flag = flag.map { ConfigFlag(name: flagName ?? name.replacingUnderscores(), form: $0, valueName: valueName) }
        self.isSecret = secret
        self.negotiatedByCamera = negotiatedByCamera
        self.helpNote = note
        let parse = check.parse
        assign = { (config: inout Config, value: ConfigValue) throws(ConfigError) in
            // A secret's value stays out of its error messages.
            config[keyPath: path] = try parse(value, Rejection(key: name, value: secret ? "" : value.description))
        }
        same = { $0[keyPath: path] == $1[keyPath: path] }
        copy = { source, config in config[keyPath: path] = source[keyPath: path] }
        let show = check.show
        text = { show($0[keyPath: path]) }
    }

    /// How a change to this key applies when the daemon is to run `config`.
    public func applies(with config: Config) -> ConfigApply {
        negotiatedByCamera && (config.isCamera || config.pollsSnapshots) ? .captureRestart : applies
    }

    /// The key's value in `config` as reload and `camctl set` show it; secrets only say "set" or "off".
    public func value(in config: Config) -> String { text(config) }

    /// The default, as `--help` says it ("none" for an empty one).
    public var defaultText: String {
        let text = self.text(Config())
        return text.isEmpty ? "none" : text
    }

    /// The flag's line in `camd --help`: "Frames per second, 0.1-240 (fps; default 30)."
    public var flagHelp: String {
        switch helpNote {
        case .afterDefault(let note): return "\(help) (\(name); default \(defaultText)\(note))."
        case .insteadOfDefault(let note): return "\(help) (\(name); \(note))."
        }
    }

    /// The key called `name`, if there is one.
    public static func named(_ name: String) -> ConfigKey? { all.first { $0.name == name } }

    /// The keys `camctl set` may change, in table order.
    public static var settableLive: [ConfigKey] { all.filter(\.isSettableLive) }

    /// Why `set` refuses a key that is unknown or not settable live (the control reply's error).
    public static func notSettableLive(_ name: String) -> String {
        "\(name) cannot be set live; settable: \(settableLive.map(\.name).joined(separator: ", ")) "
            + "(edit the config file and reload for the others)"
    }
}

/// Builds the error for one key's value: names the key, quotes the value (none for a secret), says what is
/// allowed.
struct Rejection {
    let key: String
    let value: String

    func callAsFunction(_ problem: String) -> ConfigError { ConfigError(key: key, value: value, problem: problem) }
}

/// A key's check (the value as it arrived → the typed value, or one line saying what is allowed) and how the
/// typed value is shown.
struct ConfigCheck<Value: Sendable>: Sendable {
    let parse: @Sendable (ConfigValue, Rejection) throws(ConfigError) -> Value
    let show: @Sendable (Value) -> String
}

extension ConfigCheck where Value == Int {
    static func integer(_ range: ClosedRange<Int>) -> ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> Int in
            guard case .integer(let v) = value, range.contains(v) else {
                throw reject("must be an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return v
        }, show: { String($0) })
    }
}

extension ConfigCheck where Value == Double {
    static func number(_ range: ClosedRange<Double>) -> ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> Double in
            func trim(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
            let allowed = "must be a number from \(trim(range.lowerBound)) to \(trim(range.upperBound))"
            let v: Double
            switch value {
            case .integer(let i): v = Double(i)
            case .float(let d): v = d
            default: throw reject(allowed)
            }
            guard range.contains(v) else { throw reject(allowed) }
            return v
        }, show: { Format.fixed($0, 1, bareWhole: true) })
    }
}

extension ConfigCheck where Value: CaseIterable & RawRepresentable<String> {
    /// One of the enum's raw values, as a string.
    static var oneOf: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> Value in
            guard case .string(let s) = value, let choice = Value(rawValue: s) else {
                throw reject("must be one of " + Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
            }
            return choice
        }, show: { $0.rawValue })
    }
}

extension String {
    /// "max_clients" → "max-clients": a key's flag name.
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
