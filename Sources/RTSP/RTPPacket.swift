// RTPPacket: one access unit packetised once, shared by every viewer, and the few bytes each viewer adds.
//
// A packetiser (H264Packetizer, JPEGPacketizer) turns one access unit into an immutable `RTPAccessUnit`: the
// payload of every packet (copied once per access unit, never per viewer), its marker bit and the unit's RTP
// timestamp. What differs per viewer is written fresh for each packet it is sent: the 4-byte interleaved header
// (`$`, channel, length) over TCP and the 12-byte RTP header (RFC 3550 §5.1) carrying that session's own
// sequence number. One SSRC per stream, as GStreamer's and go2rtc's servers use; sequence numbers per session,
// so that a viewer that skips to the next IDR (latest wins) sees consecutive numbers — a gap would read as
// packet loss to its depacketiser (ffmpeg logs "RTP: missed N packets", NVRs count errors) — and so that the
// `seq` of PLAY's RTP-Info is exactly the first packet that viewer receives.

/// The shared part of one RTP packet.
public struct RTPPacket: Equatable, Sendable {
    public var marker: Bool
    public var payload: [UInt8]

    public init(marker: Bool, payload: [UInt8]) {
        self.marker = marker
        self.payload = payload
    }
}

/// One access unit (an H.264 picture, a JPEG frame) as RTP packets, built once for every viewer of a stream.
public struct RTPAccessUnit: Sendable {
    public var packets: [RTPPacket]
    /// 90 kHz, from the capture timestamp (`RTPClock`).
    public var timestamp: UInt32
    /// Capture time, ns since the Unix epoch: what RTCP sender reports map `timestamp` to.
    public var captureNanos: UInt64
    /// A viewer may start here: an IDR (with its parameter sets), or any JPEG frame.
    public var isKeyframe: Bool
    public var payloadType: UInt8

    public init(packets: [RTPPacket], timestamp: UInt32, captureNanos: UInt64, isKeyframe: Bool, payloadType: UInt8) {
        self.packets = packets
        self.timestamp = timestamp
        self.captureNanos = captureNanos
        self.isKeyframe = isKeyframe
        self.payloadType = payloadType
    }

    /// Payload bytes of all packets (RTCP's octet count).
    public var payloadBytes: Int { packets.reduce(0) { $0 + $1.payload.count } }
}

/// RTP timestamps from capture timestamps: 90 kHz (every video payload format camd sends), plus a per-stream
/// random offset (RFC 3550 §5.1: the initial value should be random), wrapping at 2^32.
public struct RTPClock: Sendable, Equatable {
    public var offset: UInt32
    public init(offset: UInt32) { self.offset = offset }

    public func timestamp(captureNanos: UInt64) -> UInt32 {
        // Seconds and the remainder apart, so the product cannot overflow whatever the date.
        let ticks = (captureNanos / 1_000_000_000) &* 90_000 &+ (captureNanos % 1_000_000_000) * 9 / 100_000
        return UInt32(truncatingIfNeeded: ticks) &+ offset
    }
}

/// Writes a session's headers in front of shared payloads.
public enum RTPHeader {
    /// The 12-byte RTP header (version 2, no padding, extension or CSRC).
    public static func write(into bytes: inout [UInt8], marker: Bool, payloadType: UInt8, sequence: UInt16, timestamp: UInt32, ssrc: UInt32) {
        bytes.append(0x80)
        bytes.append((marker ? 0x80 : 0) | (payloadType & 0x7F))
        appendBigEndian(&bytes, UInt32(sequence), width: 2)
        appendBigEndian(&bytes, timestamp, width: 4)
        appendBigEndian(&bytes, ssrc, width: 4)
    }

    /// The interleaved frame header (RFC 2326 §10.12): `$`, channel, 16-bit length.
    public static func writeInterleaved(into bytes: inout [UInt8], channel: UInt8, length: Int) {
        bytes.append(UInt8(ascii: "$"))
        bytes.append(channel)
        appendBigEndian(&bytes, UInt32(length), width: 2)
    }
}

func appendBigEndian(_ bytes: inout [UInt8], _ value: UInt32, width: Int) {
    for shift in stride(from: (width - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
}

func appendBigEndian64(_ bytes: inout [UInt8], _ value: UInt64) {
    for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
}
