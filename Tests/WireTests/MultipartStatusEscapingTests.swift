// A server camview reads is outside input too: its status line reaches camview's terminal only escaped.
import Wire
import Testing

struct MultipartStatusEscapingTests {
    @Test func aHostileStatusLineIsEscapedInTheFailureAndTheStatus() {
        var parser = MultipartStreamParser(framing: .http)
        let response = Array("HTTP/1.1 403 \u{1b}]0;owned\u{07}\u{1b}[2J\r\n\r\n".utf8)
        var failure: MultipartFailure?
        response.withUnsafeBytes { raw in
            do throws(MultipartFailure) { try parser.consume(raw) { _ in } } catch { failure = error }
        }
        let text = failure?.description ?? ""
        #expect(text.hasPrefix("HTTP response is not 200: HTTP/1.1 403 \\x1b]0;owned\\x07\\x1b[2J"), "\(text.debugDescription)")
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        #expect(parser.responseStatus?.contains("\u{1b}") == false)
    }
}
