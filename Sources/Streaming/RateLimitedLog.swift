// RateLimitedLog: the first event logged, then at most one line per interval saying how many were suppressed.
// ConnectionEventLog: connects, disconnects and refused requests, one line each up to a few a second, then
// counted and summed up in one line per window — a connection flood must not become a log flood that makes
// journald's own rate limit drop the lines that matter. Warnings and errors never go through it.
import CamdSystem

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

struct ConnectionEventLog {
    enum Kind: CaseIterable { case connect, disconnect, request }

    /// Lines a second on average, and the burst allowed above it.
    static let perSecond = 5.0
    static let burst = 20.0
    static let windowNanos: UInt64 = 10_000_000_000

    private var tokens = burst
    private var refilledAt: UInt64?
    private var windowStart: UInt64?
    private var suppressed: [Kind: Int] = [:]

    /// True: log this event's own line. False: it is counted for the next summary.
    mutating func admit(_ kind: Kind, now: UInt64) -> Bool {
        if let last = refilledAt, now > last {
            tokens = min(Self.burst, tokens + Double(now - last) / 1e9 * Self.perSecond)
        }
        refilledAt = now
        if tokens >= 1 {
            tokens -= 1
            return true
        }
        if windowStart == nil { windowStart = now }
        suppressed[kind, default: 0] += 1
        return false
    }

    /// Once a window has passed since the first suppressed event: the line that sums them up.
    mutating func summary(now: UInt64) -> String? {
        guard let start = windowStart, now >= start, now - start >= Self.windowNanos else { return nil }
        let seconds = Int((Double(now - start) / 1e9).rounded())
        var parts: [String] = []
        if let n = suppressed[.connect] { parts.append("\(Format.grouped(n)) more \(n == 1 ? "connection" : "connections")") }
        if let n = suppressed[.disconnect] { parts.append("\(Format.grouped(n)) \(n == 1 ? "disconnection" : "disconnections")") }
        if let n = suppressed[.request] { parts.append("\(Format.grouped(n)) refused \(n == 1 ? "request" : "requests")") }
        windowStart = nil
        suppressed = [:]
        let list = parts.count > 1 ? parts.dropLast().joined(separator: ", ") + " and " + parts[parts.count - 1] : parts.joined()
        return "… and \(list) in the last \(seconds) s, not logged one by one (over \(Int(Self.perSecond)) a second)"
    }
}
