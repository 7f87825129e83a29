// camview --tty=sixel and --tty=kitty: real pixels for terminals that take them. camview runs on a pseudo-
// terminal (util-linux script); its output is taken apart here: the sixel image is decoded by ImageMagick, the
// kitty image's base64 chunks are joined and decoded, and both must show the test pattern's bars.
import Capture
import Foundation
import Testing
import TestSupport

/// Runs camview on a pty for `seconds` and returns everything it wrote to the terminal.
private func terminalOutput(_ arguments: [String]) throws -> [UInt8] {
    let command = ([Binaries.path("camview")] + arguments).map { "'\($0)'" }.joined(separator: " ")
    let output = NSTemporaryDirectory() + "tty-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: output) }
    let result = try runCommand(which("script")!, ["-q", "-e", "-c", command, output], timeout: 30,
                                environment: ["PATH": "/usr/bin:/bin", "TERM": "xterm-256color"].merging(Sanitizer.environment) { $1 })
    #expect(result.status == 0, "camview on a pty: \(result.stderr)")
    return [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
}

/// The bar colours found in packed RGB pixels (each bar's share of the pixels, by colour name).
private func barShares(_ rgb: [UInt8]) -> [String: Double] {
    var counts: [String: Int] = [:]
    let pixels = rgb.count / 3
    for bar in TestPatternSource.bars where bar != .black {
        var n = 0
        var i = 0
        while i + 2 < rgb.count {
            if max(abs(Int(rgb[i]) - Int(bar.r)), abs(Int(rgb[i + 1]) - Int(bar.g)), abs(Int(rgb[i + 2]) - Int(bar.b))) < 40 { n += 1 }
            i += 3
        }
        counts["\(bar)"] = n
    }
    return counts.mapValues { Double($0) / Double(max(pixels, 1)) }
}

/// Where `needle` occurs in `haystack` from `start` on (first only, or all).
private func find(_ needle: String, in haystack: [UInt8], from start: Int = 0) -> Int? {
    haystack[start...].firstRange(of: Array(needle.utf8))?.lowerBound
}

private func ranges(of needle: String, in haystack: [UInt8]) -> [Int] {
    var found: [Int] = []
    var index = 0
    while let at = find(needle, in: haystack, from: index) {
        found.append(at)
        index = at + 1
    }
    return found
}

private let canRun = which("script") != nil && which("convert") != nil || ProcessInfo.processInfo.environment["CI"] != nil

extension CamdIntegrationTests {
    @Test(.enabled(if: canRun, "needs script (util-linux) and ImageMagick"))
    func camviewDrawsSixelImagesThatImageMagickDecodesToTheTestPattern() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let output = try terminalOutput(["tcp://127.0.0.1:\(camd.port)", "--tty=sixel", "--duration", "2"])
        let starts = ranges(of: "\u{1B}P0;1;0q", in: output)
        #expect(starts.count >= 5, "sixel images drawn: \(starts.count)")
        let start = try #require(starts.dropLast().last)  // a complete one
        let end = try #require(find("\u{1B}\\", in: output, from: start)) - start
        let image = NSTemporaryDirectory() + "camview-\(UUID().uuidString).six"
        defer { try? FileManager.default.removeItem(atPath: image) }
        try Data(output[start..<start + end + 2]).write(to: URL(fileURLWithPath: image))
        let size = try runCommand(which("identify")!, ["-format", "%wx%h", "sixel:" + image])
        #expect(size.stdout == "320x240", "a pty without a pixel size counts 8×16 a cell: 80×23 cells hold 320×240: \(size)")
        let rgb = NSTemporaryDirectory() + "camview-\(UUID().uuidString).rgb"
        defer { try? FileManager.default.removeItem(atPath: rgb) }
        // Through PNG: ImageMagick 6.9's sixel reader hands raw-RGB output a black image, PNG the real one.
        defer { try? FileManager.default.removeItem(atPath: image + ".png") }
        _ = try runCommand(which("convert")!, ["sixel:" + image, "png:" + image + ".png"])
        _ = try runCommand(which("convert")!, [image + ".png", "-depth", "8", "rgb:" + rgb])
        let shares = barShares([UInt8](try Data(contentsOf: URL(fileURLWithPath: rgb))))
        #expect(shares.values.filter { $0 > 0.05 }.count == 7, "bar colours in the sixel image: \(shares)")
        #expect(ranges(of: "\u{1B}[?1049l", in: output).count == 1, "the main screen is restored")
        #expect(camd.stop() == 0)
    }

    @Test(.enabled(if: canRun, "needs script (util-linux)"))
    func camviewSendsKittyImagesInChunksThatDecodeToTheTestPattern() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let output = try terminalOutput(["tcp://127.0.0.1:\(camd.port)", "--tty=kitty", "--duration", "2"])
        // The first image: "ESC _G a=T,…,m=1;<base64> ESC \" then "ESC _G m=1;…" … "m=0;…".
        let start = try #require(ranges(of: "\u{1B}_Ga=T,f=24,", in: output).first)
        var payload: [UInt8] = []
        var header = ""
        var index = start
        while true {
            let end = try #require(find("\u{1B}\\", in: output, from: index))
            let command = Array(output[index + 3..<end])
            let semicolon = try #require(command.firstIndex(of: UInt8(ascii: ";")))
            let keys = String(decoding: command[..<semicolon], as: UTF8.self)
            if header.isEmpty { header = keys }
            let chunk = command[(semicolon + 1)...]
            #expect(chunk.count <= 4096, "kitty chunks are at most 4096 bytes")
            payload += chunk
            index = end + 2
            if keys.hasSuffix("m=0") { break }
        }
        #expect(header.contains("s=320,v=240") && header.contains("i=1,p=1") && header.contains("q=2"), "\(header)")
        let pixels = try #require(Data(base64Encoded: Data(payload)))
        #expect(pixels.count == 320 * 240 * 3)
        let shares = barShares([UInt8](pixels))
        #expect(shares.values.filter { $0 > 0.05 }.count == 7, "bar colours in the kitty image: \(shares)")
        #expect(ranges(of: "\u{1B}_Ga=d,d=A,q=2\u{1B}\\", in: output).count >= 1, "the picture is deleted on the way out")
        #expect(camd.stop() == 0)
    }
}
