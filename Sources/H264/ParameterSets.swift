// ParameterSets: the SPS and PPS a decoder needs before the first picture, and the two SDP attributes made from
// them (RFC 6184 section 8.1: sprop-parameter-sets and profile-level-id).

import CamdSystem

public struct H264ParameterSets: Sendable, Equatable {
    /// The sequence parameter set NAL unit (header byte first, no start code).
    public let sps: [UInt8]
    /// The picture parameter set NAL unit (header byte first, no start code).
    public let pps: [UInt8]

    /// Nil unless `sps` is a non-empty SPS (type 7, with profile, constraints and level: 4 bytes at least) and
    /// `pps` a non-empty PPS (type 8).
    public init?(sps: [UInt8], pps: [UInt8]) {
        guard sps.count >= 4, NALUnitType(unit: sps) == .sps, pps.count >= 2, NALUnitType(unit: pps) == .pps else { return nil }
        self.sps = sps
        self.pps = pps
    }

    /// The first SPS and the first PPS of an Annex-B stream, if it holds both.
    public init?(annexB bytes: [UInt8], units: [Range<Int>]? = nil) {
        var sps: [UInt8]? = nil, pps: [UInt8]? = nil
        for unit in units ?? AnnexB.nalUnits(in: bytes) where unit.lowerBound >= 0 && unit.upperBound <= bytes.count {
            switch NALUnitType(unit: bytes[unit]) {
            case .sps? where sps == nil: sps = Array(bytes[unit])
            case .pps? where pps == nil: pps = Array(bytes[unit])
            default: break
            }
            if sps != nil, pps != nil { break }
        }
        guard let sps, let pps else { return nil }
        self.init(sps: sps, pps: pps)
    }

    /// profile_idc, the constraint flags and level_idc: SPS bytes 1, 2 and 3.
    public var profileIDC: UInt8 { sps[1] }
    public var constraintFlags: UInt8 { sps[2] }
    public var levelIDC: UInt8 { sps[3] }

    /// SDP `profile-level-id`: those three bytes in hex, e.g. "42c01f".
    public var profileLevelID: String { sps[1...3].map(Self.hex).joined() }

    /// SDP `sprop-parameter-sets`: base64 of the SPS, a comma, base64 of the PPS.
    public var spropParameterSets: String { Base64.encode(sps) + "," + Base64.encode(pps) }

    /// The profile's name, as encoders and ffprobe print it ("Constrained Baseline", "Main", "High", …).
    public var profileName: String {
        let constrainedSet1 = constraintFlags & 0x40 != 0
        switch profileIDC {
        case 66: return constrainedSet1 ? "Constrained Baseline" : "Baseline"
        case 77: return "Main"
        case 88: return "Extended"
        case 100: return "High"
        case 110: return "High 10"
        case 122: return "High 4:2:2"
        case 244: return "High 4:4:4 Predictive"
        default: return "profile \(profileIDC)"
        }
    }

    /// "3.1" for level_idc 31 ("1b" for the special case of level 11 with constraint_set3 in Baseline).
    public var levelName: String {
        if levelIDC == 11, profileIDC == 66 || profileIDC == 77, constraintFlags & 0x10 != 0 { return "1b" }
        return "\(levelIDC / 10).\(levelIDC % 10)"
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}
