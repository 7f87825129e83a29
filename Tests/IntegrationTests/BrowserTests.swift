// Headless Chromium loads camd's page: the screenshot shows the test pattern's bars, and the page's
// script filled in what /state says.
import Capture
import Foundation
import Testing
import TestSupport

private var chromium: String? { which("chromium") ?? which("chromium-browser") ?? which("google-chrome") }

/// Runs headless Chromium once against `url` with `mode` (e.g. "--screenshot=PATH", "--dump-dom").
private func runChromium(_ mode: [String], _ url: String) throws -> CommandResult {
    let profile = NSTemporaryDirectory() + "chromium-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: profile) }
    return try runCommand(chromium!, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                                      "--user-data-dir=\(profile)", "--window-size=800,600", "--virtual-time-budget=3000"]
                                     + mode + [url], timeout: 60)
}

extension CamdIntegrationTests {
    @Test(.enabled(if: chromium != nil && which("ffmpeg") != nil || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs chromium and ffmpeg"))
    func chromiumShowsTheLivePictureAndTheStateOnThePage() throws {
        let camd = try CamdProcess(["--width", "640", "--height", "480"])
        let url = "http://127.0.0.1:\(camd.httpPort)/"
        let shot = NSTemporaryDirectory() + "page-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: shot) }
        let screenshot = try runChromium(["--screenshot=\(shot)"], url)
        #expect(FileManager.default.fileExists(atPath: shot), "\(screenshot.stderr.suffix(600))")

        // The PNG as raw RGB, through ffmpeg; then count pixels near each bar colour.
        let rgbPath = shot + ".rgb"
        defer { try? FileManager.default.removeItem(atPath: rgbPath) }
        _ = try runCommand(which("ffmpeg")!, ["-v", "error", "-y", "-i", shot, "-f", "rawvideo", "-pix_fmt", "rgb24", rgbPath])
        let pixels = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: rgbPath))) ?? Data())
        #expect(pixels.count == 800 * 600 * 3, "screenshot is \(pixels.count) bytes")
        var counts = [Int](repeating: 0, count: TestPatternSource.bars.count)
        var i = 0
        while i + 2 < pixels.count {
            let (r, g, b) = (Int(pixels[i]), Int(pixels[i + 1]), Int(pixels[i + 2]))
            for (index, bar) in TestPatternSource.bars.enumerated() {
                let distance = max(abs(r - Int(bar.r)), abs(g - Int(bar.g)), abs(b - Int(bar.b)))
                if distance < 40 { counts[index] += 1 }
            }
            i += 3
        }
        // Seven coloured bars (black is also the page's background): each 80×320 px in a 640×480 picture,
        // scrolled, so a bar may be split at the edge; together most of the bars' area.
        let coloured: [(RGB, Int)] = zip(TestPatternSource.bars, counts).filter { $0.0 != .black }
        let visible = coloured.filter { $0.1 >= 8000 }.count
        let total = coloured.map(\.1).reduce(0, +)
        let report = coloured.map { "\($0.0): \($0.1)" }
        #expect(visible == 7, "bar colours in the screenshot (pixels): \(report)")
        #expect(total > 7 * 80 * 320 * 8 / 10, "\(report)")

        // The page's script filled its header from /state.
        let dom = try runChromium(["--dump-dom"], url).stdout
        #expect(dom.contains("<span id=\"size\">640×480 JPEG</span>"), "\(dom.suffix(800))")
        #expect(dom.contains("testpattern (streaming)"))
        let fps = dom.components(separatedBy: "<span id=\"fps\">").dropFirst().first?.split(separator: " ").first.flatMap { Double($0) }
        // The rate is a debug camd's at full speed; a sanitized camd (scripts/sanitize.sh) is 5–15× slower, so there the
        // page must show a rate, not this one.
        #expect((fps ?? 0) > (Sanitizer.running ? 0 : 20), "the page shows \(fps.map { "\($0)" } ?? "no") fps")
        #expect(camd.stop() == 0)
    }
}
