// The native header's exact bytes, its validation, and incremental parsing.
import Frames
import Wire
import Testing

struct NativeProtocolTests {
    @Test func headerEncodesBigEndianFieldsInTheDocumentedLayout() {
        let header = NativeFrameHeader(flags: 1, sequence: 0x0102030405060708, timestampNanos: 0x1112131415161718,
                                       width: 1280, height: 720, length: 0xA0B0C0D0)
        let bytes = header.encoded()
        #expect(bytes.count == 32)
        #expect(bytes == [0x43, 0x41, 0x4D, 0x46, 1, 1, 0x00, 0x01,
                          0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                          0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
                          0x05, 0x00, 0x02, 0xD0, 0xA0, 0xB0, 0xC0, 0xD0].map { UInt8($0) })
    }

    @Test func headerRoundTripsFromAFrame() throws {
        let frame = Frame(sequence: 42, timestampNanos: 1_764_000_000_123_456_789, width: 640, height: 480,
                          isPlaceholder: true, payload: [0xFF, 0xD8, 0xFF, 0xD9])
        let header = NativeFrameHeader(frame: frame)
        let decoded = try NativeFrameHeader(decoding: header.encoded())
        #expect(decoded == header)
        #expect(decoded.isPlaceholder)
        #expect(decoded.sequence == 42 && decoded.width == 640 && decoded.height == 480 && decoded.length == 4)
    }

    @Test(arguments: [
        (0, UInt8(0x58), "bad magic"),
        (4, UInt8(2), "unsupported protocol version 2"),
        (5, UInt8(9), "unknown frame format 9"),
        (28, UInt8(0x7F), "exceeds"),
    ])
    func decodingRejectsMalformedHeaders(offset: Int, value: UInt8, message: String) {
        var bytes = NativeFrameHeader(sequence: 1, timestampNanos: 1, width: 1, height: 1, length: 10).encoded()
        bytes[offset] = value
        #expect {
            try NativeFrameHeader(decoding: bytes)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func parserReassemblesFramesFedOneByteAtATime() throws {
        var stream: [UInt8] = []
        var payloads: [[UInt8]] = []
        for sequence in 1...3 as ClosedRange<UInt64> {
            let payload = [UInt8](repeating: UInt8(sequence), count: Int(sequence) * 100)
            payloads.append(payload)
            stream += NativeFrameHeader(sequence: sequence, timestampNanos: 0, width: 2, height: 2,
                                        length: UInt32(payload.count)).encoded() + payload
        }
        var parser = NativeStreamParser()
        var received: [(UInt64, [UInt8])] = []
        for byte in stream {
            try [byte].withUnsafeBytes { raw in
                try parser.consume(raw) { header, payload in received.append((header.sequence, payload!)) }
            }
        }
        #expect(received.map(\.0) == [1, 2, 3])
        #expect(received.map(\.1) == payloads)
        #expect(parser.isAtFrameBoundary)
    }

    @Test func parserWithoutPayloadsStillCountsFramesAndStopsOnGarbage() throws {
        var stream = NativeFrameHeader(sequence: 7, timestampNanos: 0, width: 2, height: 2, length: 5).encoded()
        stream += [1, 2, 3, 4, 5]
        stream += Array("GET / HTTP/1.1\r\n\r\n0123456789abcdef".utf8)
        var parser = NativeStreamParser(keepPayload: false)
        var sequences: [UInt64] = []
        #expect(throws: NativeProtocolError.self) {
            try stream.withUnsafeBytes { raw in
                try parser.consume(raw) { header, payload in
                    #expect(payload == nil)
                    sequences.append(header.sequence)
                }
            }
        }
        #expect(sequences == [7])
    }
}
