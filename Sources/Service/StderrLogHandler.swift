// StderrLogHandler: one line per event on stderr — time, level, message, metadata.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Logging

public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        Self.write(Self.line(time: Clock.realtimeNanos(), label: label, level: event.level,
                             message: "\(event.message)", metadata: merged))
    }

    /// "2026-11-25 12:00:00.000 camd info: message key=value\n". Metadata whose key starts with `camd_` (and `errno`) is left out:
    /// the message already says it in words; those keys exist for the journal (JournalLogHandler), where they are fields.
    static func line(time nanos: UInt64, label: String, level: Logger.Level, message: String,
                     metadata: Logger.Metadata) -> String {
        var line = timestamp(nanos) + " " + label + " " + level.rawValue + ": "
        // One event is one line: newlines inside a message are escaped.
        line += message.replacingNewlines()
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !key.hasPrefix("camd_") && key != "errno" {
            line += " \(key)=\(value)".replacingNewlines()
        }
        return line + "\n"
    }

    /// One write(2) per line, so lines from the capture and reactor threads never interleave.
    static func write(_ line: String) {
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// "2026-11-25 12:34:56.789"
    static func timestamp(_ nanos: UInt64) -> String {
        var seconds = time_t(nanos / 1_000_000_000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ n: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        let ms = Int32(nanos / 1_000_000 % 1000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday)) "
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(ms, 3))"
    }
}

extension String {
    func replacingNewlines() -> String {
        guard contains(where: { $0 == "\n" || $0 == "\r" }) else { return self }
        return String(flatMap { $0 == "\n" ? ["\\", "n"] : $0 == "\r" ? ["\\", "r"] : [$0] })
    }
}
