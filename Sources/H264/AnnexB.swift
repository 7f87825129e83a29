// AnnexB: an H.264 byte stream (ITU-T H.264 Annex B) split into NAL units on its start codes. Encoder output and,
// later, what cameras send go through here, so it is linear in the input, allocates only the result, and never traps.

/// A NAL unit's type (nal_unit_type, the low five bits of its first byte); the ones camd acts on are named.
public struct NALUnitType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x1F }

    /// A slice of a non-IDR picture.
    public static let slice = NALUnitType(rawValue: 1)
    /// A slice of an IDR picture: decoding can start here.
    public static let idrSlice = NALUnitType(rawValue: 5)
    public static let sei = NALUnitType(rawValue: 6)
    public static let sps = NALUnitType(rawValue: 7)
    public static let pps = NALUnitType(rawValue: 8)
    public static let accessUnitDelimiter = NALUnitType(rawValue: 9)

    /// The type of a NAL unit whose bytes (header first, no start code) are `unit`; nil for an empty unit.
    public init?(unit: some Collection<UInt8>) {
        guard let header = unit.first else { return nil }
        self.init(rawValue: header)
    }

    public var description: String { String(rawValue) }
}

public enum AnnexB {
    /// The NAL units of `bytes`, as ranges that exclude their start codes (00 00 01 or 00 00 00 01) and the zero
    /// bytes trailing them. Bytes before the first start code and empty units are ignored.
    public static func nalUnits(in bytes: [UInt8]) -> [Range<Int>] {
        bytes.withUnsafeBufferPointer { nalUnits(in: $0) }
    }

    public static func nalUnits(in bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var units: [Range<Int>] = []
        var start: Int? = nil   // first byte of the unit being read
        var index = 0
        let count = bytes.count
        while index + 2 < count {
            // A start code is 00 00 01; the 4-byte form's extra zero is a trailing zero of what precedes it.
            if bytes[index + 2] > 1 {
                index += 3
            } else if bytes[index] == 0, bytes[index + 1] == 0, bytes[index + 2] == 1 {
                if let start { append(start..<index, of: bytes, to: &units) }
                index += 3
                start = index
            } else {
                index += 1
            }
        }
        if let start { append(start..<count, of: bytes, to: &units) }
        return units
    }

    private static func append(_ range: Range<Int>, of bytes: UnsafeBufferPointer<UInt8>, to units: inout [Range<Int>]) {
        var end = range.upperBound
        while end > range.lowerBound, bytes[end - 1] == 0 { end -= 1 }
        if end > range.lowerBound { units.append(range.lowerBound..<end) }
    }

    /// `units` (NAL units without start codes) as an Annex-B stream, each after a 4-byte start code.
    public static func joined(_ units: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(units.reduce(0) { $0 + $1.count + 4 })
        for unit in units {
            out += [0, 0, 0, 1]
            out += unit
        }
        return out
    }
}
