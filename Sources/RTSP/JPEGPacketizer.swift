// JPEGPacketizer: one baseline JPEG → RTP packets per RFC 2435 (payload type 26), for rtsp://…/mjpeg.
//
// RFC 2435 sends only the entropy-coded scan; the receiver rebuilds the headers from an 8-byte JPEG header in
// every packet (type, Q, width/8, height/8), a restart marker header when the image has DRI (types 64/65), and —
// in the first packet of a frame — the quantisation tables (Q = 255: tables in-band, so any camera's tables
// work). Huffman tables are not carried: receivers assume the standard tables of JPEG Annex K.3, which libjpeg,
// libturbojpeg and UVC MJPEG cameras use (cameras usually omit DHT altogether); an image with other tables
// decodes wrong on the receiver. Headers are read segment by segment, each bounded by its length and the image;
// the image's end comes from JPEGScanner's walk of the whole image, so a truncated or hostile JPEG is refused
// rather than sent.
//
// Refused (the frame is not sent; the daemon counts it and logs once): not a complete baseline 8-bit YCbCr
// JPEG with 4:2:2 or 4:2:0 luma sampling, 16-bit quantisation tables, or a side larger than 2040 pixels —
// RFC 2435 has one byte for width/8 and height/8. Frames above 2040 px (a 4K camera) cannot be sent as RFC 2435
// at all; those users get /stream (H.264).
import JPEG

public struct JPEGPacketizer: Sendable {
    public enum Refusal: Error, Equatable, Sendable {
        case notAJPEG
        case unsupported(String)
        case tooLarge(width: Int, height: Int)
    }

    /// The header fields of one image, as they go into every packet.
    public struct Header: Equatable, Sendable {
        /// 0 (4:2:2) or 1 (4:2:0), plus 64 with restart markers.
        public var type: UInt8
        public var width: Int
        public var height: Int
        public var restartInterval: UInt16
        /// Luma then chroma table, 64 bytes each, in the zigzag order of DQT.
        public var quantizationTables: [UInt8]
        /// Where the entropy-coded data lies in the image (after SOS, before EOI).
        public var scan: Range<Int>
    }

    public static let maxSide = 2040
    public var maxPayload: Int

    public init(maxPayload: Int = 1400) {
        precondition(maxPayload > 8 + 4 + 4 + 128, "the first packet must hold its headers and some scan data")
        self.maxPayload = maxPayload
    }

    public func packetize(_ jpeg: [UInt8], timestamp: UInt32, captureNanos: UInt64) throws(Refusal) -> RTPAccessUnit {
        let header = try Self.readHeader(jpeg)
        var packets: [RTPPacket] = []
        var offset = header.scan.lowerBound
        while offset < header.scan.upperBound || packets.isEmpty {
            let fragmentOffset = offset - header.scan.lowerBound
            guard fragmentOffset < 1 << 24 else { throw .unsupported("scan larger than 16 MiB") }
            var payload: [UInt8] = [0]
            appendBigEndian(&payload, UInt32(fragmentOffset), width: 3)
            payload += [header.type, 255, UInt8((header.width + 7) / 8), UInt8((header.height + 7) / 8)]
            if header.type >= 64 {
                appendBigEndian(&payload, UInt32(header.restartInterval), width: 2)
                payload += [0xFF, 0xFF]  // F=1, L=1, restart count 0x3FFF: the packet need not start at a restart
            }
            if fragmentOffset == 0 {
                payload += [0, 0]
                appendBigEndian(&payload, UInt32(header.quantizationTables.count), width: 2)
                payload += header.quantizationTables
            }
            let end = min(header.scan.upperBound, offset + maxPayload - payload.count)
            payload += jpeg[offset..<end]
            packets.append(RTPPacket(marker: false, payload: payload))
            offset = end
        }
        packets[packets.count - 1].marker = true
        return RTPAccessUnit(packets: packets, timestamp: timestamp, captureNanos: captureNanos, isKeyframe: true, payloadType: 26)
    }

    /// Reads SOF0, DQT, DRI and SOS of a complete image.
    public static func readHeader(_ jpeg: [UInt8]) throws(Refusal) -> Header {
        guard let end = jpeg.withUnsafeBytes({ JPEGScanner.completeImageEnd($0) }) else { throw .notAJPEG }
        var tables: [UInt8: [UInt8]] = [:]
        var components: [(id: UInt8, sampling: UInt8, table: UInt8)] = []
        var width = 0, height = 0
        var restart: UInt16 = 0
        var i = 2
        while true {
            // The scanner walked the same segments: every length below is within the image.
            while i < end, jpeg[i] == 0xFF, i + 1 < end, jpeg[i + 1] == 0xFF { i += 1 }
            guard i + 3 < end, jpeg[i] == 0xFF else { throw .notAJPEG }
            let marker = jpeg[i + 1]
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            guard length >= 2, i + 2 + length <= end else { throw .notAJPEG }
            let body = (i + 4)..<(i + 2 + length)
            switch marker {
            case 0xDB:
                var k = body.lowerBound
                while k < body.upperBound {
                    let precision = jpeg[k] >> 4, id = jpeg[k] & 0x0F
                    guard precision == 0 else { throw .unsupported("16-bit quantisation tables") }
                    guard k + 65 <= body.upperBound else { throw .notAJPEG }
                    tables[id] = Array(jpeg[(k + 1)..<(k + 65)])
                    k += 65
                }
            case 0xC0:
                guard body.count >= 6 else { throw .notAJPEG }
                guard jpeg[body.lowerBound] == 8 else { throw .unsupported("sample precision other than 8 bits") }
                height = Int(jpeg[body.lowerBound + 1]) << 8 | Int(jpeg[body.lowerBound + 2])
                width = Int(jpeg[body.lowerBound + 3]) << 8 | Int(jpeg[body.lowerBound + 4])
                let count = Int(jpeg[body.lowerBound + 5])
                guard count == 3, body.count >= 6 + 3 * count else { throw .unsupported("\(count) colour components (YCbCr only)") }
                for c in 0..<count {
                    let at = body.lowerBound + 6 + 3 * c
                    components.append((jpeg[at], jpeg[at + 1], jpeg[at + 2]))
                }
            case 0xC1...0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw .unsupported("not a baseline JPEG (SOF\(marker - 0xC0))")
            case 0xDD:
                guard body.count >= 2 else { throw .notAJPEG }
                restart = UInt16(jpeg[body.lowerBound]) << 8 | UInt16(jpeg[body.lowerBound + 1])
            case 0xDA:
                guard components.count == 3 else { throw .notAJPEG }
                guard components[1].sampling == 0x11, components[2].sampling == 0x11,
                      components[1].table == components[2].table else {
                    throw .unsupported("chroma sampling other than 1x1 with one table")
                }
                let type: UInt8
                switch components[0].sampling {
                case 0x21: type = 0
                case 0x22: type = 1
                default: throw .unsupported("luma sampling other than 4:2:2 or 4:2:0")
                }
                guard width > 0, height > 0 else { throw .notAJPEG }
                guard width <= maxSide, height <= maxSide else { throw .tooLarge(width: width, height: height) }
                guard let luma = tables[components[0].table], let chroma = tables[components[1].table] else {
                    throw .notAJPEG
                }
                // The scan runs to the EOI the scanner found.
                return Header(type: type + (restart > 0 ? 64 : 0), width: width, height: height, restartInterval: restart,
                              quantizationTables: luma + chroma, scan: body.upperBound..<(end - 2))
            default:
                break
            }
            i = body.upperBound
        }
    }
}
