// JPEGPacketizer (RFC 2435) on images libturbojpeg encodes: header fields, the in-band quantisation tables, fragment
// offsets that put the scan back together byte for byte, restart headers, and what is refused.
import JPEG
@testable import RTSP
import Testing

struct JPEGPacketizerTests {
    static func image(width: Int, height: Int, subsampling: ChromaSubsampling) throws -> [UInt8] {
        let encoder = try JPEGEncoder(quality: 80, subsampling: subsampling)
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in rgb.indices { rgb[i] = UInt8(truncatingIfNeeded: i &* 7 ^ i >> 5) }
        return try rgb.withUnsafeBytes { raw in try encoder.encode(rgb: raw, width: width, height: height) }
    }

    /// The DQT tables of the image, by id.
    static func tables(_ jpeg: [UInt8]) -> [UInt8: [UInt8]] {
        var out: [UInt8: [UInt8]] = [:]
        var i = 2
        while i + 4 < jpeg.count, jpeg[i] == 0xFF, jpeg[i + 1] != 0xDA {
            let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            if jpeg[i + 1] == 0xDB {
                var k = i + 4
                while k < i + 2 + length { out[jpeg[k] & 0x0F] = Array(jpeg[(k + 1)..<(k + 65)]); k += 65 }
            }
            i += 2 + length
        }
        return out
    }

    @Test func a420ImageIsType1WithItsTablesInTheFirstPacketAndTheScanInOrder() throws {
        let jpeg = try Self.image(width: 320, height: 240, subsampling: .s420)
        let unit = try JPEGPacketizer(maxPayload: 1000).packetize(jpeg, timestamp: 9, captureNanos: 1)
        #expect(unit.payloadType == 26 && unit.isKeyframe && unit.timestamp == 9)
        #expect(unit.packets.count > 2)
        #expect(unit.packets.allSatisfy { $0.payload.count <= 1000 })
        #expect(unit.packets.map(\.marker) == Array(repeating: false, count: unit.packets.count - 1) + [true])
        var scan: [UInt8] = []
        for (n, packet) in unit.packets.enumerated() {
            let p = packet.payload
            let offset = Int(p[1]) << 16 | Int(p[2]) << 8 | Int(p[3])
            #expect(offset == scan.count)
            #expect(Array(p[4..<8]) == [1, 255, 40, 30])           // type 1, Q 255, 320/8, 240/8
            var at = 8
            if n == 0 {
                #expect(Array(p[8..<12]) == [0, 0, 0, 128])
                let tables = Self.tables(jpeg)
                #expect(Array(p[12..<140]) == tables[0]! + tables[1]!)
                at = 140
            }
            scan += p[at...]
        }
        let header = try JPEGPacketizer.readHeader(jpeg)
        #expect(scan == Array(jpeg[header.scan]))
        // The scan runs from after SOS to just before EOI.
        #expect(Array(jpeg[(header.scan.upperBound)...]) == [0xFF, 0xD9])
    }

    @Test func a422ImageIsType0AndDRIMakesItType64() throws {
        let jpeg = try Self.image(width: 64, height: 48, subsampling: .s422)
        #expect(try JPEGPacketizer.readHeader(jpeg).type == 0)
        // A DRI segment right after SOI.
        let withRestart = [0xFF, 0xD8, 0xFF, 0xDD, 0, 4, 0, 8] + jpeg[2...]
        let unit = try JPEGPacketizer().packetize(Array(withRestart), timestamp: 0, captureNanos: 0)
        let p = unit.packets[0].payload
        #expect(p[4] == 64)
        #expect(Array(p[8..<12]) == [0, 8, 0xFF, 0xFF])            // interval 8, F=1, L=1, count 0x3FFF
        #expect(Array(p[12..<16]) == [0, 0, 0, 128])
    }

    @Test func unsupportedAndHostileImagesAreRefused() throws {
        let jpeg = try Self.image(width: 64, height: 48, subsampling: .s444)
        #expect(throws: JPEGPacketizer.Refusal.unsupported("luma sampling other than 4:2:2 or 4:2:0")) {
            try JPEGPacketizer().packetize(jpeg, timestamp: 0, captureNanos: 0)
        }
        let good = try Self.image(width: 64, height: 48, subsampling: .s420)
        #expect(throws: JPEGPacketizer.Refusal.notAJPEG) { try JPEGPacketizer().packetize(Array(good.dropLast(10)), timestamp: 0, captureNanos: 0) }
        #expect(throws: JPEGPacketizer.Refusal.notAJPEG) { try JPEGPacketizer().packetize([0xFF, 0xD8, 0xFF, 0xD9], timestamp: 0, captureNanos: 0) }
        // A frame wider than 2040 px: its SOF says 4096.
        var wide = good
        let sof = try #require((0..<(wide.count - 1)).first { wide[$0] == 0xFF && wide[$0 + 1] == 0xC0 })
        wide[sof + 7] = 0x10
        wide[sof + 8] = 0x00
        #expect(throws: JPEGPacketizer.Refusal.tooLarge(width: 4096, height: 48)) { try JPEGPacketizer().packetize(wide, timestamp: 0, captureNanos: 0) }
    }
}
