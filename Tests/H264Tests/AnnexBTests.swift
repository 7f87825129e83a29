// AnnexB, NAL types, parameter sets and their SDP forms, on hand-made streams and hostile bytes.
import H264
import Testing

struct AnnexBTests {
    // A real SPS and PPS (x264 ultrafast, 320x240: Constrained Baseline, level 1.3) would do; these are short forms
    // with the same first bytes.
    static let sps: [UInt8] = [0x67, 0x42, 0xC0, 0x0D, 0xD9, 0x01, 0x41, 0xFB, 0x01, 0x10]
    static let pps: [UInt8] = [0x68, 0xCE, 0x0F, 0xC8]
    static let idr: [UInt8] = [0x65, 0x88, 0x84, 0x00, 0x33]
    static let slice: [UInt8] = [0x41, 0x9A, 0x02, 0x04]

    @Test func splitsOnThreeAndFourByteStartCodes() {
        let stream: [UInt8] = [0, 0, 0, 1] + Self.sps + [0, 0, 1] + Self.pps + [0, 0, 0, 1] + Self.idr
        let units = AnnexB.nalUnits(in: stream)
        #expect(units.map { Array(stream[$0]) } == [Self.sps, Self.pps, Self.idr])
        #expect(units.compactMap { NALUnitType(unit: stream[$0]) } == [.sps, .pps, .idrSlice])
    }

    @Test func trailingZerosAndLeadingGarbageAreNotPartOfAUnit() {
        let stream: [UInt8] = [0xAB, 0xCD, 0, 0, 1] + Self.slice + [0, 0, 0, 0, 0, 1] + Self.idr + [0, 0]
        let units = AnnexB.nalUnits(in: stream)
        #expect(units.map { Array(stream[$0]) } == [Self.slice, Self.idr])
    }

    @Test func emptyUnitsAndStreamsWithoutStartCodesGiveNothing() {
        #expect(AnnexB.nalUnits(in: []).isEmpty)
        #expect(AnnexB.nalUnits(in: [0, 0, 1]).isEmpty)
        #expect(AnnexB.nalUnits(in: [0, 0, 1, 0, 0, 1, 0, 0, 0, 1]).isEmpty)
        #expect(AnnexB.nalUnits(in: [1, 2, 3, 4, 5, 0, 0]).isEmpty)
        #expect(AnnexB.nalUnits(in: [0, 0, 1, 0x09]) == [3..<4])
    }

    @Test func joinedRoundTrips() {
        let stream = AnnexB.joined([Self.sps, Self.pps, Self.idr])
        #expect(AnnexB.nalUnits(in: stream).map { Array(stream[$0]) } == [Self.sps, Self.pps, Self.idr])
    }

    @Test func parameterSetsGiveSDPAttributes() throws {
        let sets = try #require(H264ParameterSets(annexB: AnnexB.joined([Self.idr, Self.pps, Self.sps])))
        #expect(sets.sps == Self.sps && sets.pps == Self.pps)
        #expect(sets.profileLevelID == "42c00d")
        #expect(sets.spropParameterSets == "Z0LADdkBQfsBEA==,aM4PyA==")
        #expect(sets.profileName == "Constrained Baseline")
        #expect(sets.levelName == "1.3")
    }

    @Test func parameterSetsNeedBothAndAWholeSPSHeader() {
        #expect(H264ParameterSets(annexB: AnnexB.joined([Self.sps, Self.idr])) == nil)
        #expect(H264ParameterSets(annexB: AnnexB.joined([Self.pps])) == nil)
        #expect(H264ParameterSets(sps: [0x67, 0x42], pps: Self.pps) == nil)
        #expect(H264ParameterSets(sps: Self.pps, pps: Self.sps) == nil)
    }

    @Test func accessUnitKnowsKeyframesAndKeepsThePreviousParameterSets() throws {
        let key = EncodedAccessUnit(annexB: AnnexB.joined([Self.sps, Self.pps, Self.idr]), sequence: 7, timestampNanos: 99, previous: nil)
        #expect(key.isKeyframe && key.carriesParameterSets && key.sequence == 7 && key.timestampNanos == 99)
        let sets = try #require(key.parameterSets)
        let next = EncodedAccessUnit(annexB: AnnexB.joined([Self.slice]), sequence: 8, timestampNanos: 100, previous: sets)
        #expect(!next.isKeyframe && !next.carriesParameterSets && next.parameterSets == sets)
        #expect(next.nalUnitTypes == [.slice])
    }

    @Test func aKeyframeWithoutParameterSetsGetsThemInFront() throws {
        let key = EncodedAccessUnit(annexB: AnnexB.joined([Self.sps, Self.pps, Self.idr]), sequence: 1, timestampNanos: 1, previous: nil)
        let bare = EncodedAccessUnit(annexB: AnnexB.joined([Self.idr]), sequence: 31, timestampNanos: 2, previous: key.parameterSets)
        let carried = bare.carryingParameterSets()
        #expect(carried.nalUnitTypes == [.sps, .pps, .idrSlice] && carried.sequence == 31 && carried.timestampNanos == 2)
        #expect(carried.bytes == key.bytes)
        let slice = EncodedAccessUnit(annexB: AnnexB.joined([Self.slice]), sequence: 32, timestampNanos: 3, previous: key.parameterSets)
        #expect(slice.carryingParameterSets().bytes == slice.bytes)
        #expect(key.carryingParameterSets().bytes == key.bytes)
        let unknown = EncodedAccessUnit(annexB: AnnexB.joined([Self.idr]), sequence: 1, timestampNanos: 1, previous: nil)
        #expect(unknown.carryingParameterSets().bytes == unknown.bytes)
    }

    @Test func base64PadsLikeRFC4648() throws {
        let sets = try #require(H264ParameterSets(sps: [0x67, 0x42, 0x00, 0x1F], pps: [0x68, 0x66, 0x6F]))
        #expect(sets.spropParameterSets == "Z0IAHw==,aGZv")
        let longer = try #require(H264ParameterSets(sps: [0x67, 0x42, 0x00, 0x1F, 0x01], pps: Array("hfooba".utf8)))
        #expect(longer.spropParameterSets == "Z0IAHwE=,aGZvb2Jh")
    }

    /// Hostile streams: random bytes, runs of zeros and start codes, truncated units. Every range lies inside the
    /// input, in order, never includes a start code's 00 00 01, and nothing traps.
    @Test func hostileStreamsNeverCrashAndRangesStayInside() {
        var generator = SplitMix(seed: 16)
        var streams: [[UInt8]] = [[0], [0, 0], [0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1], Array(repeating: 0, count: 4096),
                                  Array(repeating: 1, count: 4096), (0..<3000).flatMap { _ in [UInt8](arrayLiteral: 0, 0, 1) }]
        for _ in 0..<500 {
            let count = Int(generator.next() % 600)
            // Mostly zeros and ones, so start codes are common.
            streams.append((0..<count).map { _ in let r = generator.next() % 8; return r < 4 ? 0 : r < 6 ? 1 : UInt8(truncatingIfNeeded: generator.next()) })
        }
        for stream in streams {
            let units = AnnexB.nalUnits(in: stream)
            var previousEnd = 0
            for unit in units {
                #expect(unit.lowerBound >= previousEnd && unit.upperBound <= stream.count && !unit.isEmpty)
                #expect(stream[unit.upperBound - 1] != 0)
                let body = Array(stream[unit])
                #expect(!(0..<max(0, body.count - 2)).contains { body[$0] == 0 && body[$0 + 1] == 0 && body[$0 + 2] == 1 })
                previousEnd = unit.upperBound
            }
            let unit = EncodedAccessUnit(annexB: stream, sequence: 1, timestampNanos: 1, previous: nil)
            if let sets = unit.parameterSets {
                #expect(sets.profileLevelID.count == 6)
                #expect(!sets.spropParameterSets.isEmpty)
            }
        }
    }
}

/// A small deterministic generator (tests must repeat).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
