// JournalLogHandler: each log event as one structured journal entry (sd_journal_sendv), used when stderr is the journal.
#if canImport(Glibc)
import Glibc
#endif
internal import CSystemd
import CamdSystem
import Logging

/// Whether camd's stderr is the journal. systemd sets `JOURNAL_STREAM` to "DEVICE:INODE" (decimal) of the stream
/// it connected to stdout/stderr; the variable is inherited by children whose stderr is something else, so only a
/// matching fstat(2) of fd 2 counts.
public enum JournalStream {
    public static var isStandardError: Bool {
        var info = stat()
        guard fstat(2, &info) == 0, let value = getenv("JOURNAL_STREAM") else { return false }
        return matches(String(cString: value), device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    static func matches(_ journalStream: String?, device: UInt64, inode: UInt64) -> Bool {
        guard let parts = journalStream?.split(separator: ":", omittingEmptySubsequences: false), parts.count == 2,
              let streamDevice = UInt64(parts[0]), let streamInode = UInt64(parts[1]) else { return false }
        return streamDevice == device && streamInode == inode
    }
}

/// The fields of one journal entry, each "NAME=value". Pure: no I/O, so the encoding is tested without a journal.
public enum JournalFields {
    /// The identifier journalctl shows and `journalctl -t camd` selects; a logger with another label adds CAMD_LABEL.
    static let identifier = "camd"

    /// The instance camd@NAME.service runs as: its unit sets CAMD_INSTANCE=NAME (systemd/camd@.service). Read once.
    public static let instance: String? = getenv("CAMD_INSTANCE").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }

    /// An instance's entries say which camera they are about: SYSLOG_IDENTIFIER=camd@NAME (what journalctl
    /// shows, and `journalctl -t camd@NAME` selects) and CAMD_INSTANCE=NAME.
    public static func encode(level: Logger.Level, message: String, metadata: Logger.Metadata, label: String,
                              file: String, function: String, line: UInt, instance: String? = instance) -> [String] {
        // Values are sent verbatim: the native protocol is length-prefixed, so a newline stays inside MESSAGE.
        var fields = [
            "MESSAGE=" + message,
            "PRIORITY=\(priority(level))",
            "SYSLOG_IDENTIFIER=" + (instance.map { identifier + "@" + $0 } ?? identifier),
            "CODE_FILE=" + file,
            "CODE_LINE=\(line)",
            "CODE_FUNC=" + function,
        ]
        if label != identifier { fields.append("CAMD_LABEL=" + label) }
        if let instance { fields.append("CAMD_INSTANCE=" + instance) }
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            fields.append(fieldName(metadataKey: key) + "=\(value)")
        }
        return fields
    }

    /// syslog(3) priorities; swift-log's trace has none of its own.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// "camd_event" → "CAMD_EVENT", "errno" → "ERRNO"; any other key is made valid (A–Z, 0–9, `_`, at most 64 characters) and gets the
    /// CAMD_ prefix, so metadata can never start with `_` (journald drops those: trusted fields), start with a
    /// digit, or overwrite MESSAGE, PRIORITY or CODE_*.
    static func fieldName(metadataKey key: String) -> String {
        // journald's own field for an errno value (systemd.journal-fields(7)).
        if key == "errno" { return "ERRNO" }
        var name = String(key.uppercased().unicodeScalars.map { scalar -> Character in
            ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        })
        if !name.hasPrefix("CAMD_") { name = "CAMD_" + name }
        return String(name.prefix(64))
    }
}

public struct JournalLogHandler: LogHandler {
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
        let fields = JournalFields.encode(level: event.level, message: "\(event.message)", metadata: merged,
                                          label: label, file: event.file, function: event.function, line: event.line)
        if Self.send(fields) < 0 {
            // The journal is gone (or refused the entry): the line still goes somewhere a human may see it.
            StderrLogHandler.write(StderrLogHandler.line(time: Clock.realtimeNanos(), label: label, level: event.level,
                                                         message: "\(event.message)", metadata: merged))
        }
    }

    /// The one call into libsystemd: one iovec per field, all pointing into one buffer that outlives the call.
    /// Returns 0, or a negative errno.
    static func send(_ fields: [String]) -> Int32 {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = bytes.count
            bytes.append(contentsOf: field.utf8)
            ranges.append(start..<bytes.count)
        }
        // Never empty ("MESSAGE=" alone is 8 bytes), so the base address exists.
        return bytes.withUnsafeMutableBytes { buffer in
            let vectors = ranges.map { iovec(iov_base: buffer.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}
