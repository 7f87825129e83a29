// CamdSystem: the small helpers whose output reaches operators (escaped log text, times of day) and files,
// errno's words, and poll.
import CamdSystem
import Testing

struct LogTextTests {
    @Test func printableASCIIIsKeptAndEverythingElseIsWrittenAsHexBytes() {
        #expect(LogText.escaped("ffmpeg (pid 812)") == "ffmpeg (pid 812)")
        #expect(LogText.escaped("GET / HTTP/1.1\u{1B}]0;owned\u{07}") == "GET / HTTP/1.1\\x1b]0;owned\\x07")
        #expect(LogText.escaped("line\nforged line") == "line\\x0aforged line")
        #expect(LogText.escaped("a\\x41") == "a\\x5cx41", "a backslash cannot fake an escape")
        #expect(LogText.escaped("caméra") == "cam\\xc3\\xa9ra")
        #expect(LogText.escaped("\u{0}\u{7F}") == "\\x00\\x7f")
    }

    @Test func longTextIsCutAtTheLimit() {
        #expect(LogText.escaped(String(repeating: "a", count: 600)) == String(repeating: "a", count: 512) + "…")
        #expect(LogText.escaped("abcdef", limit: 3) == "abc…")
        #expect(LogText.escaped("abc", limit: 3) == "abc")
    }
}

struct QuotedTests {
    @Test func aLiteralIsValidJSONAndTOMLAndCarriesNoRawControlCharacter() {
        #expect(Format.quoted("v4l2:/dev/video0") == "\"v4l2:/dev/video0\"")
        #expect(Format.quoted("say \"hi\" \\ bye") == "\"say \\\"hi\\\" \\\\ bye\"")
        #expect(Format.quoted("a\nb\tc") == "\"a\\nb\\tc\"")
        #expect(Format.quoted("\u{1B}]0;x\u{07}\u{7F}\u{85}") == "\"\\u001B]0;x\\u0007\\u007F\\u0085\"")
        #expect(Format.quoted("caméra") == "\"caméra\"")
    }
}

struct FilesAndClockTests {
    @Test func aProcPseudoFileIsReadAlthoughItReportsSizeZero() throws {
        let comm = try Files.read("/proc/self/comm")
        #expect(!comm.isEmpty && comm.last == 0x0A)
    }

    @Test func theTimeOfDayIsHoursMinutesSeconds() {
        let text = Clock.localTimeOfDay()
        let parts = text.split(separator: ":")
        #expect(parts.count == 3 && parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isNumber) }, "\(text)")
    }
}

struct SystemErrorTests {
    @Test func theMessageIsTheKernelsWordsAndTheDescriptionNamesTheCall() {
        let error = SystemError("connect /run/camd/control", errno: 2)   // ENOENT
        #expect(error.message == "No such file or directory")
        #expect(error.description == "connect /run/camd/control: No such file or directory")
    }
}

struct PollTests {
    @Test func aQuietDescriptorTimesOutAndASignalledCounterIsReadableUntilDrained() throws {
        let counter = try EventCounter()
        #expect(try Poll.wait(counter.fd, for: .readable, timeoutMilliseconds: 10) == nil)
        counter.signal()
        counter.signal()
        let ready = try Poll.wait([(-1, .readable), (counter.fd, .readable)], timeoutMilliseconds: 1000)
        #expect(ready?.count == 2 && ready?[0] == [] && ready?[1] == .readable, "a negative fd is an empty slot")
        counter.drain()
        #expect(try Poll.wait(counter.fd, for: .readable, timeoutMilliseconds: 0) == nil)
    }
}
