// ProcessSample: what /proc says about the server process (CPU time, peak and current RSS),
// and this process's own CPU time.
#if canImport(Glibc)
import Glibc
#endif

struct ProcessSample {
    /// utime + stime of all the process's threads, in clock ticks.
    var cpuTicks: UInt64
    /// VmHWM: the peak resident set size since the process started, in KiB.
    var peakRSSKiB: Int?
    /// VmRSS at the time of the sample, in KiB.
    var rssKiB: Int?

    init?(pid: Int32) {
        guard let stat = readProcFile("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, utime field 14, stime field 15 (proc(5)).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = UInt64(fields[11]), let stime = UInt64(fields[12]) else { return nil }
        cpuTicks = utime + stime
        if let status = readProcFile("/proc/\(pid)/status") {
            peakRSSKiB = Self.kib(status, "VmHWM:")
            rssKiB = Self.kib(status, "VmRSS:")
        }
    }

    static var ticksPerSecond: Double {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }

    /// CPU time of this process (all threads) in nanoseconds.
    static func selfCPUNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    private static func kib(_ status: String, _ key: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix(key) {
            let number = line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return number.flatMap { Int($0) }
        }
        return nil
    }
}

/// Reads a whole /proc file (their size is reported as 0, so read until end of file).
func readProcFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Raises the soft RLIMIT_NOFILE towards `wanted` (up to the hard limit); returns the soft limit in force.
@discardableResult
func raiseFileLimit(to wanted: Int) -> Int {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
    let target = min(rlim_t(wanted), limit.rlim_max)
    if limit.rlim_cur < target {
        var raised = limit
        raised.rlim_cur = target
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    return Int(clamping: limit.rlim_cur)
}
