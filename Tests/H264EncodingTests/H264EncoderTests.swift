// H264Encoder through the real libavcodec/libx264, checked with the real ffprobe and ffmpeg. Serialized: libav's
// log callback (and so the logger it feeds) is process-wide.
import Foundation
import H264
import H264Encoding
import JPEG
import Logging
import Testing

@Suite(.serialized)
struct H264EncoderTests {
    let log = LogCollector()

    func makeEncoder(_ width: Int, _ height: Int, gop: Int = 30, bitrate: Int = 2_000_000, choice: H264EncoderSettings.Choice = .libx264)
        throws -> H264Encoder {
        try H264Encoder(settings: H264EncoderSettings(encoder: choice, bitrate: bitrate, gop: gop, fps: 30, width: width, height: height),
                        logger: log.logger)
    }

    /// Encodes `count` frames of the moving pattern; `force` lists the frame indices that request an IDR first.
    func encode(_ encoder: H264Encoder, frames count: Int, layout: PlanarImage.Layout = .s420, force: Set<Int> = [])
        throws -> [EncodedAccessUnit] {
        let pattern = MovingPattern(width: encoder.settings.width, height: encoder.settings.height)
        var units: [EncodedAccessUnit] = []
        for index in 0..<count {
            if force.contains(index) { encoder.requestKeyframe() }
            units += try encoder.encode(pattern.frame(index, layout: layout), sequence: UInt64(index + 1),
                                        timestampNanos: 1_000_000_000 + UInt64(index) * 33_333_333)
        }
        return units + (try encoder.flush())
    }

    @Test(arguments: [(320, 240), (1280, 720)])
    func sixtyFramesDecodeCleanlyInFFprobeAndFFmpeg(size: (Int, Int)) throws {
        let encoder = try makeEncoder(size.0, size.1)
        let units = try encode(encoder, frames: 60)
        #expect(units.count == 60)
        #expect(units.map(\.sequence) == (1...60).map(UInt64.init))
        #expect(units[1].timestampNanos == 1_033_333_333)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try write(units, to: directory)
        let probed = try probe(file)
        #expect(probed.codec == "h264" && probed.width == size.0 && probed.height == size.1 && probed.frames == 60)
        #expect(try decodeErrors(file) == [])
        #expect(encoder.report.codec == "libx264" && !encoder.report.hardware)
    }

    @Test func theFirstUnitIsAnIDRWithItsParameterSetsAndIDRsComeEveryGOP() throws {
        let encoder = try makeEncoder(320, 240, gop: 30)
        let units = try encode(encoder, frames: 90)
        // Sliced threads: one slice per thread in every picture, no frame of delay.
        #expect(units[1].nalUnitTypes == Array(repeating: .slice, count: encoder.report.threads))
        #expect(encoder.profile == "Constrained Baseline 1.3" || encoder.profile?.hasPrefix("Constrained Baseline") == true)
        #expect(units[0].isKeyframe && units[0].carriesParameterSets)
        #expect(units[0].nalUnitTypes.prefix(2) == [.sps, .pps])
        #expect(units.indices.filter { units[$0].isKeyframe } == [0, 30, 60])
        // Every IDR carries SPS and PPS (repeat headers), so a viewer can start at any of them.
        #expect(units.filter(\.isKeyframe).allSatisfy { $0.carriesParameterSets })
        #expect(!units.filter { !$0.isKeyframe }.contains { $0.nalUnitTypes.contains(.idrSlice) })
        let sets = try #require(encoder320Sets(units))
        #expect(sets.profileLevelID.count == 6 && sets.spropParameterSets.contains(","))
        #expect(units.allSatisfy { $0.parameterSets == sets } == true)
        #expect(log.messages.contains { $0.contains("profile \(sets.profileName)") })
    }

    func encoder320Sets(_ units: [EncodedAccessUnit]) -> H264ParameterSets? { units.first?.parameterSets }

    @Test func aRequestedKeyframeIsAnIDRAtThatFrame() throws {
        let units = try encode(try makeEncoder(320, 240, gop: 30), frames: 60, force: [10, 45])
        #expect(units.indices.filter { units[$0].isKeyframe } == [0, 10, 40, 45])
        #expect(units[10].carriesParameterSets && units[45].carriesParameterSets)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try decodeErrors(try write(units, to: directory)) == [])
    }

    @Test func threeHundredFramesAt2MbitsLandWithinAQuarterOfIt() throws {
        let units = try encode(try makeEncoder(1280, 720, bitrate: 2_000_000), frames: 300)
        let bitsPerSecond = Double(units.reduce(0) { $0 + $1.bytes.count } * 8) / (300.0 / 30.0)
        #expect(bitsPerSecond > 1_500_000 && bitsPerSecond < 2_500_000, "\(Int(bitsPerSecond)) bit/s")
    }

    @Test func oddSizesAreCroppedToEven() throws {
        let encoder = try makeEncoder(321, 241)
        #expect(encoder.settings.encodedWidth == 320 && encoder.settings.encodedHeight == 240)
        let units = try encode(encoder, frames: 5)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let probed = try probe(try write(units, to: directory))
        #expect(probed.width == 320 && probed.height == 240 && probed.frames == 5)
    }

    /// Every layout reaches the encoder as 4:2:0 with its colour: a flat picture decodes to the same Y, U and V
    /// (gray to neutral chroma), within the coding error.
    @Test(arguments: [PlanarImage.Layout.gray, .s420, .s422, .s444])
    func everyLayoutKeepsItsColour(layout: PlanarImage.Layout) throws {
        let encoder = try makeEncoder(64, 48)
        let picture = flatPicture(width: 64, height: 48, layout: layout, y: 100, u: 200, v: 60)
        let units = try encoder.encode(picture, sequence: 1, timestampNanos: 1) + encoder.flush()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let decoded = try firstDecodedPicture(try write(units, to: directory))
        try #require(decoded.count == 64 * 48 * 3 / 2)
        let mean = { (range: Range<Int>) in decoded[range].reduce(0) { $0 + Int($1) } / range.count }
        let expected = layout == .gray ? (100, 128, 128) : (100, 200, 60)
        let got = (mean(0..<3072), mean(3072..<3840), mean(3840..<4608))
        #expect(abs(got.0 - expected.0) <= 3 && abs(got.1 - expected.1) <= 3 && abs(got.2 - expected.2) <= 3, "\(got)")
    }

    /// 4:2:2 chroma rows are averaged in pairs: stripes of alternating U rows become their mean.
    @Test func chroma422RowsAreAveraged() throws {
        let encoder = try makeEncoder(64, 48)
        let picture = flatPicture(width: 64, height: 48, layout: .s422, y: 128, u: 128, v: 128)
        for row in stride(from: 0, to: 48, by: 2) { (picture.plane(1) + row * picture.strides[1]).update(repeating: 100, count: 32) }
        for row in stride(from: 1, to: 48, by: 2) { (picture.plane(1) + row * picture.strides[1]).update(repeating: 180, count: 32) }
        let units = try encoder.encode(picture, sequence: 1, timestampNanos: 1) + encoder.flush()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let decoded = try firstDecodedPicture(try write(units, to: directory))
        let u = decoded[3072..<3840]
        #expect(u.allSatisfy { abs(Int($0) - 140) <= 3 })
    }

    /// An MJPEG frame goes to the encoder through one planar decode (its own 4:2:2 layout, no RGB).
    @Test func anMJPEGFrameEncodesThroughOnePlanarDecode() throws {
        let source = flatPicture(width: 320, height: 240, layout: .s422, y: 90, u: 170, v: 80)
        let jpeg = try JPEGEncoder(quality: 90).encode(source)
        let planar = try jpeg.withUnsafeBytes { try PlanarJPEGDecoder().decode($0) }
        #expect(planar.layout == .s422 && planar.width == 320 && planar.height == 240)
        #expect(abs(Int(planar.plane(0)[1000]) - 90) <= 2 && abs(Int(planar.plane(1)[500]) - 170) <= 2)
        let encoder = try makeEncoder(320, 240)
        let units = try encoder.encode(planar, sequence: 1, timestampNanos: 1) + encoder.flush()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let decoded = try firstDecodedPicture(try write(units, to: directory))
        #expect(abs(Int(decoded[1000]) - 90) <= 3 && abs(Int(decoded[320 * 240 + 100]) - 170) <= 3)
    }

    @Test func aCorruptJPEGIsAnErrorNotACrash() throws {
        let decoder = try PlanarJPEGDecoder()
        for bytes in [[UInt8](), [0xFF, 0xD8, 0xFF, 0xD9], [UInt8](repeating: 0xFF, count: 100)] {
            #expect(throws: JPEGError.self) { try bytes.withUnsafeBytes { try decoder.decode($0) } }
        }
    }

    /// auto tries hardware first and says why each did not open; here (no V4L2 encoder, VAAPI not yet) libx264.
    @Test func autoFallsBackToLibx264AndSaysWhy() throws {
        let encoder = try makeEncoder(320, 240, choice: .auto)
        #expect(encoder.report.codec == "libx264")
        #expect(encoder.report.attempts.map(\.codec) == ["h264_v4l2m2m", "h264_vaapi", "libx264"])
        #expect(encoder.report.attempts[0].failure != nil)
        #expect(encoder.report.attempts[1].failure?.contains("VAAPI") == true)
        #expect(encoder.report.attempts[2].failure == nil)
        #expect(log.messages.contains { $0.contains("h264: encoder libx264") && $0.contains("h264_v4l2m2m:") })
        // Whatever libav printed on the way came through the logger, one escaped line each.
        #expect(log.messages.filter { $0.contains("libav:") }.allSatisfy { !$0.contains("\n") && !$0.contains("\u{1B}") })
    }

    @Test func failuresAreTypedErrors() throws {
        #expect {
            try makeEncoder(320, 240, choice: .v4l2m2m)
        } throws: { error in
            guard case H264EncoderError.noEncoder(let attempts) = error else { return false }
            return attempts.count == 1 && attempts[0].codec == "h264_v4l2m2m" && attempts[0].failure != nil
        }
        #expect {
            try makeEncoder(320, 240, choice: .vaapi)
        } throws: { error in
            guard case H264EncoderError.noEncoder(let attempts) = error else { return false }
            return attempts.first?.failure?.contains("not implemented") == true
        }
        #expect {
            try makeEncoder(8, 8)
        } throws: { error in
            guard case H264EncoderError.invalidSettings = error else { return false }
            return true
        }
        let encoder = try makeEncoder(320, 240)
        #expect {
            _ = try encoder.encode(PlanarImage(width: 640, height: 480, layout: .s420), sequence: 1, timestampNanos: 1)
        } throws: { error in
            guard case H264EncoderError.pictureMismatch = error else { return false }
            return true
        }
    }
}
