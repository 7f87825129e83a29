// ProcessUsage: this process's CPU time, memory and descriptors from /proc/self — what Prometheus calls the
// standard process_* metrics. Parsing is bounded and never traps: a field that does not parse is nil.
#if canImport(Glibc)
import Glibc
#endif

public struct ProcessUsage: Sendable, Equatable {
    public var cpuSeconds: Double?
    public var residentBytes: Double?
    public var virtualBytes: Double?
    /// Seconds since the Unix epoch the process started (boot time + start ticks).
    public var startTimeSeconds: Double?
    public var openFDs: Int?
    public var maxFDs: Double?

    public init() {}

    /// Reads /proc/self/stat, /proc/self/fd and RLIMIT_NOFILE; `bootTime` is /proc/stat's btime (constant: read once).
    public static func current(bootTime: Double?) -> ProcessUsage {
        var usage = (try? Files.read("/proc/self/stat")).map {
            parseStat($0, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))), pageSize: Double(sysconf(Int32(_SC_PAGESIZE))),
                      bootTime: bootTime)
        } ?? ProcessUsage()
        usage.openFDs = countOpenFDs()
        var limit = rlimit()
        if getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 {
            // RLIM_INFINITY is all ones (it does not import as a constant): no limit.
            usage.maxFDs = limit.rlim_cur == rlim_t.max ? Double.infinity : Double(limit.rlim_cur)
        }
        return usage
    }

    /// /proc/stat's "btime N" (seconds since the epoch the system booted); nil if absent.
    public static func bootTime() -> Double? {
        guard let bytes = try? Files.read("/proc/stat") else { return nil }
        for line in bytes.split(separator: 0x0A) where line.starts(with: Array("btime ".utf8)) {
            return Double(String(decoding: line.dropFirst(6), as: UTF8.self).trimmingASCIISpaces)
        }
        return nil
    }

    /// Parses /proc/PID/stat: "pid (comm) state ppid … utime stime … starttime vsize rss …". The command name may
    /// hold spaces and parentheses, so fields are counted from the last ')'.
    public static func parseStat(_ bytes: [UInt8], ticksPerSecond: Double, pageSize: Double, bootTime: Double?) -> ProcessUsage {
        var usage = ProcessUsage()
        guard ticksPerSecond > 0, let close = bytes.lastIndex(of: 0x29) else { return usage }
        // After ")": [0] state, [11] utime, [12] stime, [19] starttime, [20] vsize (bytes), [21] rss (pages).
        let fields = bytes[(close + 1)...].split(separator: 0x20, maxSplits: 24, omittingEmptySubsequences: true)
            .prefix(22).map { Double(String(decoding: $0, as: UTF8.self)) }
        guard fields.count == 22 else { return usage }
        if let user = fields[11], let system = fields[12] { usage.cpuSeconds = (user + system) / ticksPerSecond }
        if let start = fields[19], let bootTime { usage.startTimeSeconds = bootTime + start / ticksPerSecond }
        usage.virtualBytes = fields[20]
        usage.residentBytes = fields[21].map { $0 * pageSize }
        return usage
    }

    /// Open descriptors. Linux 6.2 and later report the count as the size of /proc/self/fd — one stat instead of
    /// a directory listing of every viewer's socket (1000 viewers: 1000 entries per scrape); before that the size
    /// is 0 and the entries are counted, less the one the listing itself holds open.
    private static func countOpenFDs() -> Int? {
        var st = stat()
        if stat("/proc/self/fd", &st) == 0, st.st_size > 0 { return Int(st.st_size) }
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let dot = withUnsafeBytes(of: entry.pointee.d_name) { $0.first == 0x2E }
            if !dot { count += 1 }
        }
        return max(0, count - 1)
    }
}

private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

extension String {
    fileprivate var trimmingASCIISpaces: String {
        String(decoding: utf8.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }.reversed(),
               as: UTF8.self)
    }
}
