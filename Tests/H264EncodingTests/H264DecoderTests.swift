// H264Decoder against the committed camera-like stream (Tests/Fixtures/testsrc-320x240.h264: libx264 baseline, GOP 30,
// SPS/PPS before each IDR), against ffmpeg's own decode of it, and against garbage, truncated and corrupted units.
import Foundation
import H264
import H264Encoding
import JPEG
import Testing

/// The fixture; made once with `ffmpeg -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 60 -c:v libx264
/// -profile:v baseline -g 30 -bf 0 -x264-params repeat-headers=1 -pix_fmt yuv420p testsrc-320x240.h264`.
func fixtureStreamURL() -> URL {
    var url = URL(fileURLWithPath: #filePath)
    url.deleteLastPathComponent()
    url.deleteLastPathComponent()
    return url.appendingPathComponent("Fixtures/testsrc-320x240.h264")
}

/// The fixture cut into access units as a camera delivers them (one per buffer): a unit starts at an AUD, SPS, PPS or
/// SEI, or at a slice with first_mb_in_slice 0, once the unit before holds a slice (the fake camera's rule too).
func fixtureAccessUnits() throws -> [[UInt8]] {
    let stream = [UInt8](try Data(contentsOf: fixtureStreamURL()))
    var units: [[[UInt8]]] = []
    var sawSlice = false
    for range in AnnexB.nalUnits(in: stream) {
        let nal = Array(stream[range])
        let type = nal[0] & 0x1F
        let isSlice = type == 1 || type == 5
        let firstSlice = isSlice && nal.count > 1 && nal[1] & 0x80 != 0
        if units.isEmpty || (sawSlice && ([9, 7, 8, 6].contains(type) || firstSlice)) {
            units.append([])
            sawSlice = false
        }
        units[units.count - 1].append(nal)
        if isSlice { sawSlice = true }
    }
    return units.map(AnnexB.joined)
}

/// A small seeded generator, so a failing robustness case can be replayed.
private struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

private func packed(_ image: PlanarImage) -> [UInt8] {
    (0..<3).flatMap { plane -> [UInt8] in
        let rows = plane == 0 ? image.height : (image.height + 1) / 2
        return Array(UnsafeBufferPointer(start: image.plane(plane), count: image.strides[plane] * rows))
    }
}

@Suite struct H264DecoderTests {
    @Test func theFixtureDecodesToOnePicturePerUnitIdenticalToFFmpegs() throws {
        let units = try fixtureAccessUnits()
        #expect(units.count == 60, "the fixture has 60 pictures")
        let decoder = try H264Decoder()
        var pictures: [PlanarImage] = []
        for unit in units {
            // Low delay: each unit gives its own picture at once, none held back.
            let picture = try decoder.decode(unit)
            #expect(picture != nil)
            if let picture { pictures.append(picture) }
        }
        #expect(pictures.count == 60)
        for picture in pictures {
            #expect(picture.width == 320 && picture.height == 240 && picture.layout == .s420)
        }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("fixture.h264")
        try FileManager.default.copyItem(at: fixtureStreamURL(), to: copy)
        let reference = try firstDecodedPicture(copy)
        #expect(reference.count == 320 * 240 * 3 / 2)
        #expect(packed(pictures[0]) == reference, "the same libavcodec must give ffmpeg's exact planes")
    }

    @Test func unitsBeforeTheFirstIDRGiveNoPictureAndTheIDRDoes() throws {
        let units = try fixtureAccessUnits()
        let decoder = try H264Decoder()
        // A camera joined mid-GOP: P-frames without their references are no picture (not grey, not an error).
        for unit in units[1..<30] {
            #expect(try decoder.decode(unit) == nil)
        }
        let idr = try decoder.decode(units[30])
        #expect(idr?.width == 320 && idr?.height == 240)
        #expect(try decoder.decode(units[31]) != nil)
    }

    @Test func garbageIsAnErrorNotACrash() throws {
        let decoder = try H264Decoder()
        let cases: [[UInt8]] = [
            [],
            [0xFF, 0xD8, 0xFF, 0xE0, 0, 16],                    // a JPEG's start
            Array(repeating: 0, count: 64),                     // zeros: no NAL unit
            [0, 0, 0, 1, 0x80, 1, 2, 3],                        // forbidden bit set
            [7, 0, 0, 1, 0x65, 0x88],                           // bytes before the first start code
        ]
        for bytes in cases {
            #expect(throws: H264DecoderError.self, "\(bytes)") { try decoder.decode(bytes) }
        }
        // After the garbage the decoder still decodes a real stream.
        let units = try fixtureAccessUnits()
        #expect(try decoder.decode(units[0])?.width == 320)
    }

    @Test func truncatedAndCorruptedUnitsNeverCrashAndTheNextIDRRecovers() throws {
        let units = try fixtureAccessUnits()
        var random = SplitMix(state: 16)
        let decoder = try H264Decoder()
        var pictures = 0, errors = 0
        for round in 0..<240 {
            var unit = units[round % units.count]
            switch random.below(4) {
            case 0: unit.removeLast(random.below(unit.count))                                   // cut short
            case 1: for _ in 0..<1 + random.below(8) { unit[random.below(unit.count)] ^= UInt8(1 << random.below(8)) }
            case 2: unit = Array(unit.prefix(5 + random.below(20))) + (0..<random.below(2000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            default: unit.insert(contentsOf: [0, 0, 1], at: 4 + random.below(unit.count - 4))  // a bogus start code
            }
            do {
                if let picture = try decoder.decode(unit) {
                    pictures += 1
                    // Whatever libav made of it, the picture is the stream's size (its SPS is never changed in size here
                    // except by corruption, which must then still give a sane, bounded picture).
                    #expect((1...H264Decoder.maximumSide).contains(picture.width) && (1...H264Decoder.maximumSide).contains(picture.height))
                }
            } catch {
                errors += 1
            }
        }
        #expect(errors > 0, "corruption must show up as errors (\(pictures) pictures)")
        // The stream's next IDR (with SPS and PPS in front) decodes cleanly again, and so does the GOP after it.
        var recovered = 0
        for unit in units[30..<60] where (try? decoder.decode(unit)).flatMap({ $0 }) != nil { recovered += 1 }
        #expect(recovered == 30)
    }
}
