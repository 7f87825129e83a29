// RateLimitedLog: the first event logged, then at most one line per interval saying how many were suppressed.

struct RateLimitedLog {
    let intervalNanos: UInt64
    var lastLogged: UInt64?
    var suppressed = 0

    init(intervalNanos: UInt64) { self.intervalNanos = intervalNanos }

    /// nil: stay quiet. Otherwise: log now, mentioning this many suppressed since the last message.
    mutating func shouldLog(now: UInt64) -> Int? {
        if let last = lastLogged, now - last < intervalNanos {
            suppressed += 1
            return nil
        }
        lastLogged = now
        defer { suppressed = 0 }
        return suppressed
    }
}
