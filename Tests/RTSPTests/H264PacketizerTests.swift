// H264Packetizer round trips: packets depacketised as RFC 6184 receivers do give back the NAL units byte for byte;
// FU-A boundaries, S/E bits, NRI, marker bits; RTCP sender reports and RTP timestamps.
@testable import RTSP
import Testing

struct H264PacketizerTests {
    /// RFC 6184 depacketisation of single NAL unit and FU-A packets.
    static func depacketize(_ packets: [RTPPacket]) -> [[UInt8]] {
        var nals: [[UInt8]] = []
        var fragment: [UInt8]?
        for packet in packets {
            let p = packet.payload
            let type = p[0] & 0x1F
            if type == 28 {
                let start = p[1] & 0x80 != 0, end = p[1] & 0x40 != 0
                if start { fragment = [(p[0] & 0xE0) | (p[1] & 0x1F)] }
                fragment? += p[2...]
                if end, let whole = fragment {
                    nals.append(whole)
                    fragment = nil
                }
            } else {
                nals.append(p)
            }
        }
        return nals
    }

    static func nal(_ type: UInt8, nri: UInt8 = 3, count: Int) -> [UInt8] {
        [nri << 5 | type] + (0..<count - 1).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    @Test func smallNALUnitsAreSinglePacketsAndLargeOnesFUAFragments() {
        var packetizer = H264Packetizer(maxPayload: 1400)
        let sps = Self.nal(7, count: 12), pps = Self.nal(8, count: 4), idr = Self.nal(5, count: 5000)
        let unit = packetizer.packetize([sps[...], pps[...], idr[...]], timestamp: 1234, captureNanos: 5)
        #expect(unit.isKeyframe)
        #expect(unit.timestamp == 1234)
        // 4999 bytes after the NAL header, 1398 per fragment: 4 fragments.
        #expect(unit.packets.count == 2 + 4)
        #expect(unit.packets.allSatisfy { $0.payload.count <= 1400 })
        #expect(unit.packets.map(\.marker) == [false, false, false, false, false, true])
        let fragments = unit.packets[2...]
        #expect(fragments.map { $0.payload[0] } == [0x7C, 0x7C, 0x7C, 0x7C])       // F=0, NRI=3, type 28
        #expect(fragments.map { $0.payload[1] } == [0x85, 0x05, 0x05, 0x45])       // S, -, -, E; type 5
        #expect(Self.depacketize(unit.packets) == [sps, pps, idr])
    }

    @Test func fragmentBoundariesAreExact() {
        // A NAL of exactly maxPayload bytes is one packet; one byte more is two fragments.
        var packetizer = H264Packetizer(maxPayload: 100)
        for size in [99, 100, 101, 198, 199, 200, 1000] {
            let nal = Self.nal(1, nri: 2, count: size)
            let unit = packetizer.packetize([nal[...]], timestamp: 0, captureNanos: 0)
            let expected = size <= 100 ? 1 : (size - 1 + 97) / 98
            #expect(unit.packets.count == expected, "size \(size)")
            #expect(Self.depacketize(unit.packets) == [nal], "size \(size)")
            #expect(!unit.isKeyframe)
        }
    }

    @Test func anIDRWithoutParameterSetsGetsTheLastOnesInFront() {
        var packetizer = H264Packetizer()
        let sps = Self.nal(7, count: 10), pps = Self.nal(8, count: 4)
        _ = packetizer.packetize([sps[...], pps[...], Self.nal(5, count: 50)[...]], timestamp: 0, captureNanos: 0)
        let idr = Self.nal(5, count: 60), aud: [UInt8] = [0x09, 0xF0]
        let unit = packetizer.packetize([aud[...], idr[...]], timestamp: 3000, captureNanos: 0)
        // The access unit delimiter is dropped; SPS and PPS lead the IDR.
        #expect(Self.depacketize(unit.packets) == [sps, pps, idr])
    }

    @Test func rtpTimestampsAreNinetyKilohertzOfTheCaptureTime() {
        let clock = RTPClock(offset: 10)
        #expect(clock.timestamp(captureNanos: 1_000_000_000) == 90_010)
        #expect(clock.timestamp(captureNanos: 1_000_000_000 + 33_333_333) &- clock.timestamp(captureNanos: 1_000_000_000) == 2999)
        // Far dates wrap instead of trapping.
        _ = clock.timestamp(captureNanos: UInt64.max)
    }

    @Test func senderReportMapsTheRTPTimestampToTheCaptureWallClock() {
        let capture: UInt64 = 1_796_000_000_500_000_000  // …000.5 s after the Unix epoch
        let report = RTCP.senderReport(ssrc: 0xC0FFEE01, captureNanos: capture, rtpTimestamp: 0xAABBCCDD, packets: 7, octets: 9000, cname: "camd")
        #expect(Array(report[0..<4]) == [0x80, 200, 0, 6])
        #expect(Array(report[4..<8]) == [0xC0, 0xFF, 0xEE, 0x01])
        let seconds = report[8..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let fraction = report[12..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(seconds == 1_796_000_000 + 2_208_988_800)
        #expect(fraction == 1 << 31)
        #expect(Array(report[16..<20]) == [0xAA, 0xBB, 0xCC, 0xDD])
        #expect(Array(report[20..<28]) == [0, 0, 0, 7, 0, 0, 0x23, 0x28])
        // SDES with CNAME "camd", padded to a word.
        #expect(Array(report[28...]) == [0x81, 202, 0, 3, 0xC0, 0xFF, 0xEE, 0x01, 1, 4] + Array("camd".utf8) + [0, 0])
        #expect(report.count % 4 == 0)
        #expect(RTCP.isClientReport(report))
        #expect(!RTCP.isClientReport([0x80, 96, 0, 1]))
        #expect(!RTCP.isClientReport([0x80, 201, 0, 9, 0, 0, 0, 0]))   // longer than what is there
    }
}
