// H264Fuzz: H.264 bytes from outside (a camera's own H.264, later an upstream's) — the Annex-B splitter, NAL types,
// the access unit built from them, and the SPS/PPS turned into SDP attributes.
import H264

enum H264Fuzz {
    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        let units = AnnexB.nalUnits(in: bytes)
        var previousEnd = 0
        for unit in units {
            try require(unit.lowerBound >= previousEnd && unit.upperBound <= bytes.count && !unit.isEmpty, "h264-split-range",
                        "\(unit) after \(previousEnd) in \(bytes.count) bytes")
            previousEnd = unit.upperBound
            try require(bytes[unit.upperBound - 1] != 0, "h264-split-trailing-zero", "\(unit) ends in a zero byte")
            let body = Array(bytes[unit])
            let startCode = (0..<max(0, body.count - 2)).contains { body[$0] == 0 && body[$0 + 1] == 0 && body[$0 + 2] == 1 }
            try require(!startCode, "h264-split-start-code", "\(unit) holds a start code: \(shown(body))")
        }
        // Joining the units with start codes and splitting again gives the same units.
        let contents = units.map { Array(bytes[$0]) }
        let joined = AnnexB.joined(contents)
        let again = AnnexB.nalUnits(in: joined).map { Array(joined[$0]) }
        try require(again == contents, "h264-join-round-trip", "\(contents.count) units became \(again.count)")

        let accessUnit = EncodedAccessUnit(annexB: bytes, sequence: 1, timestampNanos: 1, previous: nil)
        try require(accessUnit.nalUnits == units, "h264-access-unit-units", "the access unit split differently")
        try require(accessUnit.isKeyframe == accessUnit.nalUnitTypes.contains(.idrSlice), "h264-keyframe",
                    "isKeyframe \(accessUnit.isKeyframe) for types \(accessUnit.nalUnitTypes)")
        if let sets = accessUnit.parameterSets {
            try require(NALUnitType(unit: sets.sps) == .sps && NALUnitType(unit: sets.pps) == .pps, "h264-parameter-set-types",
                        "\(shown(sets.sps)) / \(shown(sets.pps))")
            let hexDigits = Set("0123456789abcdef")
            try require(sets.profileLevelID.count == 6 && sets.profileLevelID.allSatisfy(hexDigits.contains), "h264-profile-level-id",
                        sets.profileLevelID)
            let base64 = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
            let parts = sets.spropParameterSets.split(separator: ",", omittingEmptySubsequences: false)
            try require(parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.count % 4 == 0 && $0.allSatisfy(base64.contains) },
                        "h264-sprop", sets.spropParameterSets)
            try require(!hasControlCharacter(sets.profileName) && !hasControlCharacter(sets.levelName), "h264-names",
                        "\(sets.profileName) \(sets.levelName)")
        }
    }
}
