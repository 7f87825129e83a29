// CamdSystem: the small helpers whose output reaches operators (escaped log text, numbers, times of day) and files,
// the trimmer, errno's words, and poll.
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

struct FixedFormatTests {
    @Test func fixedRoundsToItsPlacesAndAlwaysWritesThem() {
        #expect(Format.fixed(29.96, 1) == "30.0")
        #expect(Format.fixed(12.25, 1) == "12.3")
        #expect(Format.fixed(3, 2) == "3.00")
        #expect(Format.fixed(0.004, 2) == "0.00")
        #expect(Format.fixed(1.5, 0) == "2")
        #expect(Format.fixed(-2.25, 1) == "-2.3")
        #expect(Format.fixed(.nan, 1) == "0" && Format.fixed(-.infinity, 2) == "0", "valid JSON either way")
        #expect(Format.fixed(1e30, 1) == "900000000000000000.0", "clamped, not trapped")
    }

    @Test func bareWholeWritesAWholeNumberAsASettingReads() {
        #expect(Format.fixed(30, 1, bareWhole: true) == "30")
        #expect(Format.fixed(12.5, 1, bareWhole: true) == "12.5")
        #expect(Format.fixed(0.25, 1, bareWhole: true) == "0.3")
        #expect(Format.fixed(29.96, 1, bareWhole: true) == "30.0", "only a value that is whole already loses its decimals")
        #expect(Format.fixed(0, 1, bareWhole: true) == "0")
    }

    /// camd's earlier copies of the formatter, kept here to pin that moving a caller to `Format.fixed` changes no text.
    @Test func theFormattersItReplacesWroteTheSameText() {
        func format1(_ value: Double) -> String {       // String(format1:), Streaming
            let tenths = Int((value * 10).rounded())
            return "\(tenths / 10).\(abs(tenths % 10))"
        }
        func formatted1(_ value: Double) -> String {    // Double.formatted1 (Service), formatted1Capture (Capture)
            value == value.rounded() ? String(Int(value)) : String((value * 10).rounded() / 10)
        }
        func format3(_ value: Double) -> String {       // String(format3:), capbench
            let scaled = Int((value * 1000).rounded())
            let fraction = String(scaled % 1000)
            return "\(scaled / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
        }
        let values = Array(stride(from: 0.0, through: 100, by: 0.005))
            + [0.04, 0.05, 0.15, 0.25, 0.35, 0.45, 1.005, 2.675, 29.96, 29.95, 59.94, 1_000.05, 123_456.789, 1e9 + 0.25]
        var differences: [String] = []
        for value in values {
            if Format.fixed(value, 1) != format1(value) { differences.append("fixed(\(value), 1) \(Format.fixed(value, 1)) vs \(format1(value))") }
            if Format.fixed(value, 1, bareWhole: true) != formatted1(value) {
                differences.append("fixed(\(value), 1, bareWhole) \(Format.fixed(value, 1, bareWhole: true)) vs \(formatted1(value))")
            }
            if Format.fixed(value, 3) != format3(value) { differences.append("fixed(\(value), 3) \(Format.fixed(value, 3)) vs \(format3(value))") }
        }
        #expect(differences.isEmpty, "\(differences.prefix(10))")
    }
}

struct TrimTests {
    @Test func spacesAndTabsAreTrimmedByDefaultAsHTTPDoes() {
        #expect(" \tBearer abc \t".trimmingWhitespace() == "Bearer abc")
        #expect("a  b".trimmingWhitespace() == "a  b", "inner whitespace stays")
        #expect(" \t ".trimmingWhitespace() == "" && "".trimmingWhitespace() == "")
        #expect("token\r".trimmingWhitespace() == "token\r", "HTTP's optional whitespace is space and tab only")
        #expect("abc\u{A0}".trimmingWhitespace() == "abc\u{A0}")
        let header: Substring = "Host:  camd.local  ".dropFirst(5)
        #expect(header.trimmingWhitespace() == "camd.local")
    }

    @Test func anyWhitespaceIsTrimmedWhenTheCallerSaysSo() {
        #expect(" kick 3\r".trimmingWhitespace(\.isWhitespace) == "kick 3")
        #expect("\u{A0}set fps 30\u{2003}\r\n".trimmingWhitespace(\.isWhitespace) == "set fps 30")
        #expect("\t\r\n".trimmingWhitespace(\.isWhitespace) == "")
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
