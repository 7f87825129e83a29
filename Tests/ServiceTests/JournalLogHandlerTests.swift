// Logging: the journal entry's fields (names, priorities, newlines kept) and the stderr line they replace.
import Logging
@testable import Service
import Testing

struct JournalLogHandlerTests {
    private func encode(_ level: Logger.Level = .info, _ message: String = "viewer 3 connected",
                        metadata: Logger.Metadata = [:], label: String = "camd") -> [String] {
        JournalFields.encode(level: level, message: message, metadata: metadata, label: label,
                             file: "Streaming/StreamServer.swift", function: "accept(on:)", line: 250)
    }

    @Test func everyEntryCarriesMessagePriorityIdentifierAndCodeLocation() {
        #expect(encode() == [
            "MESSAGE=viewer 3 connected",
            "PRIORITY=6",
            "SYSLOG_IDENTIFIER=camd",
            "CODE_FILE=Streaming/StreamServer.swift",
            "CODE_LINE=250",
            "CODE_FUNC=accept(on:)",
        ])
    }

    @Test func anInstanceTagsItsEntries() {
        let fields = JournalFields.encode(level: .info, message: "viewer 3 connected", metadata: [:], label: "camd",
                                          file: "Streaming/StreamServer.swift", function: "accept(on:)", line: 250,
                                          instance: "garage")
        #expect(fields.contains("SYSLOG_IDENTIFIER=camd@garage"))
        #expect(fields.contains("CAMD_INSTANCE=garage"))
        #expect(!fields.contains("SYSLOG_IDENTIFIER=camd"))
        #expect(!encode().contains { $0.hasPrefix("CAMD_INSTANCE=") })
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func levelsMapToSyslogPriorities(level: Logger.Level, priority: Int) {
        #expect(encode(level).contains("PRIORITY=\(priority)"))
    }

    @Test func camdMetadataBecomesUppercaseFieldsInKeyOrder() {
        let fields = encode(metadata: ["camd_event": "client_connect", "camd_client": "127.0.0.1:5555",
                                       "camd_protocol": "http", "camd_frames_sent": "\(1200)"])
        #expect(Array(fields.dropFirst(6)) == [
            "CAMD_CLIENT=127.0.0.1:5555",
            "CAMD_EVENT=client_connect",
            "CAMD_FRAMES_SENT=1200",
            "CAMD_PROTOCOL=http",
        ])
    }

    @Test(arguments: [
        ("peer", "CAMD_PEER"),
        ("camd_device", "CAMD_DEVICE"),
        ("camd_reason", "CAMD_REASON"),
        ("errno", "ERRNO"),
        ("x-request.id", "CAMD_X_REQUEST_ID"),
        ("_PID", "CAMD__PID"),
        ("message", "CAMD_MESSAGE"),
        ("2fast", "CAMD_2FAST"),
        ("grüße", "CAMD_GR_SSE"),
        ("", "CAMD_"),
        (String(repeating: "k", count: 100), "CAMD_" + String(repeating: "K", count: 59)),
    ])
    func otherKeysBecomeValidFieldNamesThatCannotOverwriteCamdsOwn(key: String, field: String) {
        let name = JournalFields.fieldName(metadataKey: key)
        #expect(name == field)
        #expect(name.count <= 64 && name.first.map { $0 != "_" && !$0.isNumber } == true)
        #expect(name.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
    }

    @Test func aNewlineStaysInTheJournalMessageButIsEscapedOnStderr() {
        let message = "camera /dev/video0 lost:\nVIDIOC_DQBUF: No such device"
        #expect(encode(.error, message).first == "MESSAGE=camera /dev/video0 lost:\nVIDIOC_DQBUF: No such device")
        let line = StderrLogHandler.line(time: 0, label: "camd", level: .error, message: message, metadata: [:])
        #expect(line.hasSuffix(" camd error: camera /dev/video0 lost:\\nVIDIOC_DQBUF: No such device\n"))
        #expect(line.filter { $0 == "\n" }.count == 1)
    }

    @Test func metadataValuesAreTheirStringForm() {
        let fields = encode(metadata: ["camd_frames": .stringConvertible(42), "camd_codes": ["a", "b"]])
        #expect(fields.contains("CAMD_FRAMES=42"))
        #expect(fields.contains(#"CAMD_CODES=["a", "b"]"#))
    }

    @Test func anotherLoggerLabelIsRecorded() {
        #expect(!encode().contains { $0.hasPrefix("CAMD_LABEL=") })
        #expect(encode(label: "camd.capture").contains("CAMD_LABEL=camd.capture"))
    }

    @Test func stderrLeavesOutCamdMetadataButKeepsTheRest() {
        let line = StderrLogHandler.line(time: 0, label: "camd", level: .info, message: "viewer 3 connected",
                                         metadata: ["camd_event": "client_connect", "request": "GET /stream"])
        #expect(line.hasSuffix(" camd info: viewer 3 connected request=GET /stream\n"))
        #expect(!line.contains("client_connect"))
    }

    @Test(arguments: [
        ("8:17:123456", false),
        ("", false),
        ("8", false),
        ("8:x", false),
        ("9:123456", false),
        ("8:1234567", false),
        ("8:123456", true),
    ])
    func journalStreamMatchesOnlyTheExactDeviceAndInode(value: String, matches: Bool) {
        #expect(JournalStream.matches(value, device: 8, inode: 123_456) == matches)
    }

    @Test func noJournalStreamMeansStderr() {
        #expect(!JournalStream.matches(nil, device: 8, inode: 123_456))
    }
}
