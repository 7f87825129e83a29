// The multipart stream parser's handling of a server's words: what camview prints of them is escaped.
import Testing
import Wire

struct MultipartStreamParserTests {
    /// Found by the multipart fuzz target (fuzz/corpus/multipart/reject-status-line-escape.mp): a refused
    /// response's status line reached camview's terminal raw, ESC sequences included.
    @Test func aRefusedStatusLineIsEscapedInTheFailureAndTheStatus() {
        var parser = MultipartStreamParser(framing: .http)
        let response: [UInt8] = Array("HTTP/1.1 500 \u{1B}[31mred\u{1B}[0m\r\n\r\n".utf8)
        var failure: String?
        response.withUnsafeBytes { raw in
            do { try parser.consume(raw) { _ in } } catch { failure = "\(error)" }
        }
        #expect(failure == "HTTP response is not 200: HTTP/1.1 500 \\x1b[31mred\\x1b[0m")
        #expect(parser.responseStatus == "HTTP/1.1 500 \\x1b[31mred\\x1b[0m")
    }

    @Test func anUnauthorizedStatusStillReadsAsOne() {
        var parser = MultipartStreamParser(framing: .http)
        let response: [UInt8] = Array("HTTP/1.1 401 Unauthorized\r\n".utf8)
        let failure = response.withUnsafeBytes { raw in
            #expect(throws: MultipartFailure.self) { try parser.consume(raw) { _ in } }
        }
        #expect(failure?.description.hasPrefix("HTTP response is not 200") == true)
        #expect(parser.responseStatus?.contains(" 401") == true)
    }
}
