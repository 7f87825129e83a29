// RTCP (RFC 3550 §6): the sender report + SDES CNAME compound packet camd sends each session, and just enough
// reading of what clients send (receiver reports) to count it as a sign of life.
public enum RTCP {
    /// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
    static let ntpEpochOffset: UInt64 = 2_208_988_800

    /// 64-bit NTP time of a Unix time in nanoseconds.
    public static func ntpTime(unixNanos: UInt64) -> UInt64 {
        let seconds = unixNanos / 1_000_000_000 + ntpEpochOffset
        let fraction = ((unixNanos % 1_000_000_000) << 32) / 1_000_000_000
        return seconds << 32 | fraction
    }

    /// SR (§6.4.1) mapping `rtpTimestamp` to the wall-clock capture time `captureNanos` — so a recorder lines
    /// streams up by capture time — with the session's packet and octet counts, then SDES (§6.5) with CNAME.
    public static func senderReport(ssrc: UInt32, captureNanos: UInt64, rtpTimestamp: UInt32, packets: UInt32, octets: UInt32,
                                    cname: String) -> [UInt8] {
        var bytes: [UInt8] = [0x80, 200]
        appendBigEndian(&bytes, 6, width: 2)  // length in 32-bit words minus one: 28 bytes
        appendBigEndian(&bytes, ssrc, width: 4)
        appendBigEndian64(&bytes, ntpTime(unixNanos: captureNanos))
        appendBigEndian(&bytes, rtpTimestamp, width: 4)
        appendBigEndian(&bytes, packets, width: 4)
        appendBigEndian(&bytes, octets, width: 4)
        // SDES: one chunk, CNAME item, END, padded to a 32-bit boundary.
        let name = Array(cname.utf8.prefix(255))
        var item: [UInt8] = [1, UInt8(name.count)] + name + [0]
        while (4 + item.count) % 4 != 0 { item.append(0) }
        bytes += [0x81, 202]
        appendBigEndian(&bytes, UInt32((4 + item.count) / 4), width: 2)
        appendBigEndian(&bytes, ssrc, width: 4)
        bytes += item
        return bytes
    }

    /// True when `bytes` start with an RTCP packet a client sends (version 2, SR/RR/SDES/BYE/APP, its length within
    /// `bytes`): counted as the client being alive. Nothing else is read from it.
    public static func isClientReport(_ bytes: some Collection<UInt8>) -> Bool {
        let b = Array(bytes.prefix(4))
        guard b.count == 4, b[0] >> 6 == 2, (200...204).contains(b[1]) else { return false }
        let length = (Int(b[2]) << 8 | Int(b[3]) + 1) * 4
        return length <= bytes.count
    }
}
