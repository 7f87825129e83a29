// Sources: the test pattern decodes to the configured picture; file replay keeps bytes and skips junk.
import Capture
import CamdSystem
import Foundation
import JPEG
import Testing

private func jpeg(_ color: RGB, width: Int = 32, height: Int = 16, quality: Int = 90) throws -> [UInt8] {
    let canvas = Canvas(width: width, height: height, fill: color)
    let encoder = try JPEGEncoder(quality: quality)
    return try canvas.pixels.withUnsafeBytes { try encoder.encode(rgb: $0, width: width, height: height) }
}

private func near(_ a: RGB, _ b: RGB, tolerance: Int = 24) -> Bool {
    abs(Int(a.r) - Int(b.r)) <= tolerance && abs(Int(a.g) - Int(b.g)) <= tolerance && abs(Int(a.b) - Int(b.b)) <= tolerance
}

private func temporaryPath(_ name: String) -> String {
    NSTemporaryDirectory() + "camd-\(UUID().uuidString)-\(name)"
}

struct TestPatternTests {
    @Test func encodesAJPEGOfTheConfiguredSizeWithTheBarsInPlace() throws {
        let source = try TestPatternSource(width: 320, height: 240, fps: 30, quality: 90)
        let frame = try #require(try source.nextFrame(index: 0, timestampNanos: 1_764_000_000_000_000_000))
        #expect(frame.width == 320 && frame.height == 240)
        #expect(JPEGScanner.isCompleteImage(frame.payload))
        let decoded = try JPEGDecoder().decodeRGB(frame.payload)
        #expect(decoded.info == JPEGInfo(width: 320, height: 240))
        // At tick 0 nothing has scrolled: bar i spans x in [i*40, (i+1)*40).
        for (index, bar) in TestPatternSource.bars.enumerated() {
            let x = index * 40 + 20, y = 60
            let i = (y * 320 + x) * 3
            let pixel = RGB(decoded.rgb[i], decoded.rgb[i + 1], decoded.rgb[i + 2])
            #expect(near(pixel, bar), "bar \(index) at x=\(x): \(pixel) vs \(bar)")
        }
    }

    @Test func picturesChangeFromFrameToFrame() throws {
        let source = try TestPatternSource(width: 320, height: 240, fps: 30, quality: 80)
        let a = try #require(try source.nextFrame(index: 0, timestampNanos: 0)).payload
        let b = try #require(try source.nextFrame(index: 15, timestampNanos: 500_000_000)).payload
        #expect(a != b)
        #expect(source.scrollOffset(index: 30 * 8) == 0, "bars wrap once every 8 seconds")
        #expect(source.scrollOffset(index: 30 * 4) == 160)
    }

    @Test func utcTimestampsAreFormattedToTheMillisecond() {
        #expect(TestPatternSource.utcString(1_764_000_000_123_000_000) == "2025-11-24 16:00:00.123 UTC")
    }
}

struct JPEGScannerTests {
    @Test func splitsConcatenatedImagesAndCountsJunkAndTruncatedOnes() throws {
        let red = try jpeg(.red), green = try jpeg(.green), blue = try jpeg(.blue)
        let truncated = Array(green.prefix(green.count / 2))
        let stream = [0x00, 0x11] + red + truncated + blue + Array("trailing junk".utf8)
        let split = stream.withUnsafeBytes { JPEGScanner.split($0) }
        #expect(split.frames.count == 2)
        #expect(Array(stream[split.frames[0]]) == red)
        #expect(Array(stream[split.frames[1]]) == blue)
        #expect(split.skipped == 3, "leading junk, the truncated image, trailing junk")
    }

    @Test func anImageWithEOIBytesInsideAHeaderSegmentIsNotCutShort() throws {
        var image = try jpeg(.cyan)
        // An APP1 segment whose body contains FF D9 must be skipped by its length.
        let app1: [UInt8] = [0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9]
        image.insert(contentsOf: app1, at: 2)
        #expect(JPEGScanner.isCompleteImage(image))
        let split = image.withUnsafeBytes { JPEGScanner.split($0) }
        #expect(split.frames == [0..<image.count])
    }
}

struct FileSourceTests {
    @Test func replaysAConcatenatedFileByteForByteInALoop() throws {
        let frames = [try jpeg(.red), try jpeg(.green), try jpeg(.blue)]
        let path = temporaryPath("clip.mjpeg")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let contents = frames[0] + [1, 2, 3] + frames[1] + Array(frames[2].prefix(100)) + frames[2]
        _ = FileManager.default.createFile(atPath: path, contents: Data(contents))
        let source = try FileSource(path: path)
        #expect(source.frameCount == 3)
        #expect(source.invalidFrames == 2)
        for round in 0..<2 {
            for (index, expected) in frames.enumerated() {
                let frame = try #require(try source.nextFrame(index: UInt64(round * 3 + index), timestampNanos: 0))
                #expect(frame.payload == expected)
                #expect(frame.width == 32 && frame.height == 16)
            }
        }
    }

    @Test func replaysADirectoryInNameOrderAndSkipsBadFiles() throws {
        let dir = temporaryPath("frames")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try jpeg(.red), b = try jpeg(.blue)
        _ = FileManager.default.createFile(atPath: dir + "/001.jpg", contents: Data(a))
        _ = FileManager.default.createFile(atPath: dir + "/002.jpg", contents: Data(a.prefix(50)))
        _ = FileManager.default.createFile(atPath: dir + "/003.jpg", contents: Data(b))
        _ = FileManager.default.createFile(atPath: dir + "/notes.txt", contents: Data("x".utf8))
        let source = try FileSource(path: dir)
        #expect(source.frameCount == 3)
        let payloads = try (0..<4).map { try #require(try source.nextFrame(index: UInt64($0), timestampNanos: 0)).payload }
        #expect(payloads == [a, b, a, b])
        #expect(source.invalidFrames == 2)
    }

    @Test func aFileWithNoCompleteImageIsRejectedWithItsPath() throws {
        let path = temporaryPath("empty.mjpeg")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data("not a jpeg at all".utf8))
        #expect {
            try FileSource(path: path)
        } throws: { error in
            "\(error)".contains(path) && "\(error)".contains("no complete JPEG")
        }
    }
}
