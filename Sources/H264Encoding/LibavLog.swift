// LibavLog: libavcodec's (and x264's, through it) log lines routed to camd's logger instead of stderr, at most
// warnings, escaped, and never more than a line's worth of bytes. libav's log callback is process-wide, so the
// logger is too: the last encoder opened sets it.
internal import CAVCodec
import CamdSystem
import Locking
import Logging

enum LibavLog {
    private static let logger = LockedValue<Logger?>(nil)
    private static let installed = LockedValue(false)
    /// While an encoder is being tried, libav's lines are kept (the first few) for its failure text instead of logged.
    private static let captured = LockedValue<[String]?>(nil)

    /// Runs `body` (opening one encoder) and returns libav's lines from meanwhile, prefix and escaping applied.
    static func capturing<T>(_ body: () -> T) -> (T, [String]) {
        captured.withLock { $0 = [] }
        let result = body()
        let lines = captured.withLock { lines in
            defer { lines = nil }
            return lines ?? []
        }
        return (result, lines)
    }

    /// Sends libav's warnings and errors to `logger` (errors as warnings: a hardware encoder that does not open
    /// logs errors while auto goes on to the next one; the encoder's own report says what counted).
    static func route(to logger: Logger) {
        self.logger.withLock { $0 = logger }
        installed.withLock { done in
            guard !done else { return }
            done = true
            av_log_set_level(AV_LOG_WARNING)
            av_log_set_callback { context, level, format, arguments in
                guard level <= AV_LOG_WARNING, let format, let arguments else { return }
                var line = [CChar](repeating: 0, count: 512)
                var printPrefix: Int32 = 1
                let count = line.withUnsafeMutableBufferPointer { buffer in
                    av_log_format_line2(context, level, format, arguments, buffer.baseAddress, Int32(buffer.count), &printPrefix)
                }
                guard count >= 0 else { return }
                let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                var trimmed = Substring(text)
                while trimmed.last == "\n" { trimmed.removeLast() }
                guard !trimmed.isEmpty else { return }
                let message = "libav: " + LogText.escaped(String(trimmed))
                let kept = LibavLog.captured.withLock { lines in
                    guard lines != nil else { return false }
                    if lines!.count < 4 { lines!.append(message) }
                    return true
                }
                guard !kept else { return }
                guard let logger = LibavLog.logger.withLock({ $0 }) else { return }
                if level <= AV_LOG_ERROR { logger.warning("\(message)") } else { logger.debug("\(message)") }
            }
        }
    }
}
