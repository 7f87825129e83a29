// ProcessUsage: /proc/self/stat parsed from its fields after the command name, whatever that name holds.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Testing

struct ProcessUsageTests {
    @Test func statFieldsAreCountedFromTheLastParenthesis() {
        // utime 250 + stime 50 ticks, starttime 1000 ticks, vsize 123456789, rss 2000 pages.
        let line = "4242 (ca) md (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 123456789 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let usage = ProcessUsage.parseStat(Array(line.utf8), ticksPerSecond: 100, pageSize: 4096, bootTime: 1_700_000_000)
        #expect(usage.cpuSeconds == 3)
        #expect(usage.startTimeSeconds == 1_700_000_010)
        #expect(usage.virtualBytes == 123_456_789)
        #expect(usage.residentBytes == 8_192_000.0, "2000 pages of 4 KiB")
    }

    @Test func hostileOrTruncatedStatGivesNothingAndNeverTraps() {
        for text in ["", "4242 (camd", "4242 (camd) S 1 2 3", ")))))", "1 (x) S " + String(repeating: "9", count: 5000),
                     "1 (x) S a b c d e f g h i j k l m n o p q r s t u v w x y z"] {
            let usage = ProcessUsage.parseStat(Array(text.utf8), ticksPerSecond: 100, pageSize: 4096, bootTime: 1)
            #expect(usage.cpuSeconds == nil && usage.residentBytes == nil, "\(text.prefix(40))")
        }
        #expect(ProcessUsage.parseStat(Array("1 (x) S".utf8), ticksPerSecond: 0, pageSize: 4096, bootTime: 1) == ProcessUsage())
    }

    @Test func thisProcessIsMeasured() {
        let usage = ProcessUsage.current(bootTime: ProcessUsage.bootTime())
        #expect((usage.residentBytes ?? 0) > 1_000_000 && (usage.virtualBytes ?? 0) >= (usage.residentBytes ?? 0))
        #expect((usage.openFDs ?? 0) >= 3 && (usage.maxFDs ?? 0) >= Double(usage.openFDs ?? 0))
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let started = usage.startTimeSeconds ?? 0
        #expect(started > 1_600_000_000 && started <= Double(now.tv_sec) + 1, "\(started)")
    }
}
