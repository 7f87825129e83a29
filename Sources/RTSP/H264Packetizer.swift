// H264Packetizer: one H.264 access unit (its NAL units, without start codes) → RTP packets per RFC 6184
// (packetization-mode=1): a NAL unit that fits the payload size is a single NAL unit packet (§5.6); a larger one
// is split into FU-A fragments (§5.8) — FU indicator with the NAL's F and NRI bits and type 28, FU header with
// S on the first, E on the last and the NAL's type. The marker bit is set on the access unit's last packet.
//
// SPS and PPS travel as single NAL unit packets in front of every IDR (and in the SDP's sprop-parameter-sets),
// not aggregated into STAP-A: every depacketiser takes single NAL units, a viewer that joins at an IDR gets the
// parameter sets in-band even if the encoder emitted them only once, and STAP-A would save 12 bytes per GOP.
public struct H264Packetizer: Sendable {
    /// RTP payload bytes per packet at most: 1400 keeps a packet with IP, UDP and RTP headers under a 1500-byte
    /// MTU with room for a tunnel; TCP viewers get the same packets (one packetisation for every transport).
    public var maxPayload: Int
    public var payloadType: UInt8
    /// The latest SPS and PPS seen, put in front of an IDR that comes without them.
    public private(set) var sps: [UInt8]?
    public private(set) var pps: [UInt8]?

    public init(maxPayload: Int = 1400, payloadType: UInt8 = 96) {
        precondition(maxPayload >= 3, "an FU-A fragment needs room for its two header bytes and one byte of the NAL unit")
        self.maxPayload = maxPayload
        self.payloadType = payloadType
    }

    public static func nalType(_ nal: some Collection<UInt8>) -> UInt8 { (nal.first ?? 0) & 0x1F }

    /// The access unit's packets. Empty NAL units are skipped; access unit delimiters (type 9) and filler (12)
    /// are dropped as RFC 6184 §5.1 suggests for a network that does not need them.
    public mutating func packetize(_ nalUnits: [ArraySlice<UInt8>], timestamp: UInt32, captureNanos: UInt64) -> RTPAccessUnit {
        var units = nalUnits.filter { !$0.isEmpty && Self.nalType($0) != 9 && Self.nalType($0) != 12 }
        for nal in units {
            switch Self.nalType(nal) {
            case 7: sps = Array(nal)
            case 8: pps = Array(nal)
            default: break
            }
        }
        let isKeyframe = units.contains { Self.nalType($0) == 5 }
        if isKeyframe, !units.contains(where: { Self.nalType($0) == 7 }), let sps, let pps {
            units.insert(contentsOf: [sps[...], pps[...]], at: 0)
        }
        var packets: [RTPPacket] = []
        for nal in units {
            if nal.count <= maxPayload {
                packets.append(RTPPacket(marker: false, payload: Array(nal)))
                continue
            }
            let header = nal[nal.startIndex]
            let indicator = (header & 0xE0) | 28
            var start = nal.startIndex + 1
            let room = maxPayload - 2
            while start < nal.endIndex {
                let end = min(start + room, nal.endIndex)
                var payload: [UInt8] = [indicator, (header & 0x1F) | (start == nal.startIndex + 1 ? 0x80 : 0) | (end == nal.endIndex ? 0x40 : 0)]
                payload.reserveCapacity(2 + end - start)
                payload.append(contentsOf: nal[start..<end])
                packets.append(RTPPacket(marker: false, payload: payload))
                start = end
            }
        }
        if !packets.isEmpty { packets[packets.count - 1].marker = true }
        return RTPAccessUnit(packets: packets, timestamp: timestamp, captureNanos: captureNanos, isKeyframe: isKeyframe,
                             payloadType: payloadType)
    }
}
