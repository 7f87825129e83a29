// The Viewer library without a server: URL forms, the latest-wins mailbox, and half-block rendering.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Locking
import Testing
@testable import Viewer

struct StreamURLTests {
    @Test func defaultsFillInSchemeHostPortAndPath() throws {
        #expect(try StreamURL(parsing: "tcp://cam.local:7000") == StreamURL(parsing: "cam.local:7000"))
        let bare = try StreamURL(parsing: "cam.local")
        #expect((bare.scheme, bare.host, bare.port, bare.path) == (.tcp, "cam.local", 9999, ""))
        let empty = try StreamURL(parsing: "tcp://")
        #expect((empty.host, empty.port) == ("localhost", 9999))
        let http = try StreamURL(parsing: "http://cam.local")
        #expect((http.scheme, http.port, http.path) == (.http, 8080, "/stream"))
        let alias = try StreamURL(parsing: "http://cam.local:8080/?action=stream")
        #expect(alias.path == "/?action=stream")
        let v6 = try StreamURL(parsing: "http://[::1]:8081/stream?token=abcdefghijklmnop")
        #expect((v6.host, v6.port, v6.path) == ("::1", 8081, "/stream?token=abcdefghijklmnop"))
        #expect(v6.description == "http://[::1]:8081/stream?token=…", "a token is not echoed in messages")
    }

    @Test func badURLsSayWhatIsWrong() {
        #expect(throws: StreamURL.Invalid.self) { try StreamURL(parsing: "rtsp://cam/stream") }
        #expect(throws: StreamURL.Invalid.self) { try StreamURL(parsing: "tcp://cam:99999") }
        #expect(throws: StreamURL.Invalid.self) { try StreamURL(parsing: "tcp://cam:9999/stream") }
        #expect(throws: StreamURL.Invalid.self) { try StreamURL(parsing: "http://user:pw@cam/stream") }
        do {
            _ = try StreamURL(parsing: "rtsp://cam")
        } catch {
            #expect(error.description.contains("unsupported scheme 'rtsp://'"))
        }
    }

    @Test func theHTTPRequestAsksForTheStreamAndCarriesAuthorization() throws {
        let url = try StreamURL(parsing: "http://127.0.0.1:8080/stream")
        let request = String(decoding: url.httpRequest(authorization: "Basic YTpi"), as: UTF8.self)
        #expect(request.hasPrefix("GET /stream HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"))
        #expect(request.contains("Authorization: Basic YTpi\r\n") && request.hasSuffix("\r\n\r\n"))
    }
}

private func frame(_ sequence: UInt64, placeholder: Bool = false) -> ViewFrame {
    ViewFrame(jpeg: [0xFF, 0xD8, 0xFF, 0xD9], width: 4, height: 2, sequence: sequence, captureNanos: 0,
              receivedNanos: 0, isPlaceholder: placeholder)
}

struct FrameMailboxTests {
    @Test func aSlowDisplayGetsTheNewestFrameAndTheRestCountAsSkipped() throws {
        let mailbox = try FrameMailbox()
        for sequence: UInt64 in 1...5 { mailbox.publish(frame(sequence)) }
        let first = mailbox.take()
        #expect(first.frame?.sequence == 5)
        #expect((first.stats.received, first.stats.skipped, first.stats.shown) == (5, 4, 1))
        let again = mailbox.take()
        #expect(again.frame == nil && again.latest?.sequence == 5, "a frame is handed over once; latest stays")
    }

    @Test func sequenceGapsAreDropsButARestartedSequenceIsNot() throws {
        let mailbox = try FrameMailbox()
        mailbox.update(.streaming)
        for sequence: UInt64 in [10, 11, 14, 15] { mailbox.publish(frame(sequence)) }
        #expect(mailbox.take().stats.dropped == 2)
        mailbox.update(.reconnecting(attempt: 1, reason: "closed"))
        mailbox.update(.reconnecting(attempt: 2, reason: "refused"))
        mailbox.update(.streaming)
        mailbox.publish(frame(0))
        mailbox.publish(frame(1))
        let after = mailbox.take()
        #expect(after.stats.dropped == 2 && after.stats.reconnects == 1, "one lost stream, however many attempts")
    }

    @Test func theWakeDescriptorIsReadableOnlyWhileSomethingIsNew() throws {
        let mailbox = try FrameMailbox()
        func readable() -> Bool {
            var poller = pollfd(fd: mailbox.wakeFD, events: Int16(POLLIN), revents: 0)
            return poll(&poller, 1, 0) == 1
        }
        #expect(!readable())
        mailbox.publish(frame(1))
        #expect(readable())
        _ = mailbox.take()
        #expect(!readable())
        mailbox.update(.streaming)
        #expect(readable(), "a state change wakes the display too")
    }

    @Test func theObserverHearsOfFramesAndStateChangesUntilItIsRemoved() throws {
        let mailbox = try FrameMailbox()
        let calls = LockedValue(0)
        mailbox.onChange { calls.withLock { $0 += 1 } }
        mailbox.publish(frame(1))
        mailbox.update(.streaming)
        mailbox.update(.streaming)  // no change, no call
        #expect(calls.withLock { $0 } == 2)
        mailbox.onChange(nil)
        mailbox.publish(frame(2))
        #expect(calls.withLock { $0 } == 2)
    }

    @Test func theStatusLineSaysWhatIsHappening() {
        var stats = ViewerStats()
        stats.record(frame(1, placeholder: true))
        #expect(ViewerStats.statusLine(state: .reconnecting(attempt: 3, reason: "refused"), latest: nil, stats: stats)
                == "reconnecting… (attempt 3: refused)")
        let noSignal = ViewerStats.statusLine(state: .streaming, latest: frame(1, placeholder: true), stats: stats)
        #expect(noSignal.hasPrefix("NO SIGNAL") && noSignal.contains("4x2"), "\(noSignal)")
    }
}

struct HalfBlockPictureTests {
    @Test func fitKeepsTheAspectRatioInCellsOfTwoPixels() {
        #expect(HalfBlockPicture.fit(width: 640, height: 480, columns: 100, rows: 29) == (77, 58))
        #expect(HalfBlockPicture.fit(width: 640, height: 480, columns: 60, rows: 19) == (50, 38))
        #expect(HalfBlockPicture.fit(width: 1280, height: 720, columns: 80, rows: 40) == (80, 44))
        #expect(HalfBlockPicture.fit(width: 640, height: 480, columns: 0, rows: 10) == (0, 0))
    }

    @Test func eachCellIsTheUpperPixelOverTheLowerAndColoursAreNotRepeated() {
        // 2×2: red over blue, red over blue.
        let image = RGBImage(width: 2, height: 2, pixels: [255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255])
        let text = String(decoding: HalfBlockPicture.render(image, row: 3, column: 5), as: UTF8.self)
        #expect(text == "\u{1B}[3;5H\u{1B}[38;2;255;0;0m\u{1B}[48;2;0;0;255m\u{2580}\u{2580}\u{1B}[0m")
    }

    @Test func shrinkingAveragesThePixelsItCovers() {
        let image = RGBImage(width: 2, height: 2, pixels: [0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100])
        #expect(image.shrunk(toWidth: 1, height: 1).pixels == [100, 100, 100])
    }
}

struct TerminalGraphicsTests {
    @Test func kittyBase64MatchesTheStandardEncodingForEveryPaddingCase() {
        #expect(String(decoding: Base64.encodedBytes(Array("M".utf8)), as: UTF8.self) == "TQ==")
        #expect(String(decoding: Base64.encodedBytes(Array("Ma".utf8)), as: UTF8.self) == "TWE=")
        #expect(String(decoding: Base64.encodedBytes(Array("Man".utf8)), as: UTF8.self) == "TWFu")
        #expect(String(decoding: Base64.encodedBytes([0xFF, 0xEF, 0x00, 0x3E]), as: UTF8.self) == "/+8APg==")
    }

    @Test func kittyImagesAreSplitIntoChunksOfAtMost4096Bytes() {
        let image = RGBImage(width: 64, height: 64, pixels: [UInt8](repeating: 7, count: 64 * 64 * 3))
        let text = String(decoding: KittyGraphics.render(image, columns: 8, rows: 4), as: UTF8.self)
        let commands = text.components(separatedBy: "\u{1B}\\").filter { !$0.isEmpty }
        #expect(commands.count == 4, "16384 base64 bytes: 4 chunks")  // 12288 bytes → 16384 base64
        #expect(commands.first?.hasPrefix("\u{1B}_Ga=T,f=24,s=64,v=64,c=8,r=4,i=1,p=1,C=1,q=2,m=1;") == true)
        #expect(commands.dropFirst().dropLast().allSatisfy { $0.hasPrefix("\u{1B}_Gm=1;") })
        #expect(commands.last?.hasPrefix("\u{1B}_Gm=0;") == true)
    }

    @Test func sixelBandsRunLengthEncodeEachColour() {
        // 8×6, all pure red (cube index 5*36 = 180): one band, one colour, one run of 8 full sixels ("~").
        let red = RGBImage(width: 8, height: 6, pixels: [UInt8](repeating: 0, count: 8 * 6 * 3).enumerated().map { $0.offset % 3 == 0 ? 255 : 0 })
        let text = String(decoding: SixelPicture.render(red), as: UTF8.self)
        #expect(text.hasPrefix("\u{1B}P0;1;0q\"1;1;8;6#0;2;0;0;0"))
        #expect(text.hasSuffix("#180!8~-\u{1B}\\"), "\(text.suffix(20))")
    }
}
