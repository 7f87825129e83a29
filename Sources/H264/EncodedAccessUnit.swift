// EncodedAccessUnit: one encoded picture as every H.264 viewer shares it — Annex-B bytes, where its NAL units
// lie, whether decoding can start at it, and the capture sequence and timestamp of the frame it came from.

public struct EncodedAccessUnit: Sendable {
    /// The access unit as an Annex-B byte stream.
    public let bytes: [UInt8]
    /// Each NAL unit's bytes within `bytes` (start codes excluded).
    public let nalUnits: [Range<Int>]
    /// True when it holds an IDR slice (type 5): a viewer can start, or skip ahead to, here.
    public let isKeyframe: Bool
    /// The capture sequence number of the source frame.
    public let sequence: UInt64
    /// The capture time of the source frame, ns since the Unix epoch (CLOCK_REALTIME).
    public let timestampNanos: UInt64
    /// The SPS and PPS in force: this unit's own if it carries them, else the latest seen before it.
    public let parameterSets: H264ParameterSets?

    /// Splits `bytes` once. `previous` is the parameter sets in force before this unit.
    public init(annexB bytes: [UInt8], sequence: UInt64, timestampNanos: UInt64, previous: H264ParameterSets?) {
        let units = AnnexB.nalUnits(in: bytes)
        self.bytes = bytes
        nalUnits = units
        isKeyframe = units.contains { NALUnitType(unit: bytes[$0]) == .idrSlice }
        self.sequence = sequence
        self.timestampNanos = timestampNanos
        parameterSets = H264ParameterSets(annexB: bytes, units: units) ?? previous
    }

    /// This unit with `parameterSets` in front when it is a keyframe that lacks them (an encoder that keeps SPS and
    /// PPS out of band, or sends them only once): then a viewer can start at any keyframe. Otherwise itself.
    public func carryingParameterSets() -> EncodedAccessUnit {
        guard isKeyframe, !carriesParameterSets, let parameterSets else { return self }
        return EncodedAccessUnit(annexB: AnnexB.joined([parameterSets.sps, parameterSets.pps]) + bytes, sequence: sequence,
                                 timestampNanos: timestampNanos, previous: parameterSets)
    }

    /// The NAL units' types, in order.
    public var nalUnitTypes: [NALUnitType] { nalUnits.compactMap { NALUnitType(unit: bytes[$0]) } }

    /// True when the unit itself carries an SPS and a PPS (a viewer that starts here needs nothing else).
    public var carriesParameterSets: Bool {
        let types = nalUnitTypes
        return types.contains(.sps) && types.contains(.pps)
    }
}
