// camview's SDL2 window on a virtual X server (Xvfb): screenshots of the root window show the test pattern's
// bars and the status line; the window says "reconnecting" when camd goes away; keys and resizing (xdotool).
// The window's pure geometry (letterbox, decode size, status-line wrapping) is checked without a display.
#if canImport(Glibc)
import Glibc
#endif
@testable import camview
import CamdSystem
import Capture
import Foundation
import JPEG
import Testing
import TestSupport

private var hasXvfb: Bool { which("Xvfb") != nil && which("xwd") != nil && which("ffmpeg") != nil && which("env") != nil }
private var inCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

/// An Xvfb server on a display number nobody uses, stopped when the value goes away.
private final class VirtualDisplay {
    let process = Process()
    let number: Int
    static let width = 1024, height = 768

    init() throws {
        for number in 90..<140 where !FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(number)")
            && !FileManager.default.fileExists(atPath: "/tmp/.X\(number)-lock") {
            // Through env(1), which execs Xvfb with SIGTERM unblocked: children of the test runner inherit its
            // mask, which blocks SIGTERM, and an Xvfb that ignores it leaves its socket and lock behind.
            process.executableURL = URL(fileURLWithPath: which("env")!)
            process.arguments = ["--default-signal=TERM,INT", which("Xvfb")!, ":\(number)", "-screen", "0",
                                 "\(Self.width)x\(Self.height)x24", "-nolisten", "tcp"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Xvfb makes its socket when it accepts clients; it exits at once if another server took the number.
            _ = waitUntil(timeout: 10) { [process] in
                !process.isRunning || FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(number)")
            }
            guard process.isRunning, FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(number)") else { break }
            self.number = number
            return
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        throw TestFailure("Xvfb did not start")
    }

    deinit {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        guard !waitUntil(timeout: 5, interval: 0.01, { !process.isRunning }) else { return }
        // Killed, Xvfb cannot remove its socket and lock: do it for it.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: "/tmp/.X11-unix/X\(number)")
        try? FileManager.default.removeItem(atPath: "/tmp/.X\(number)-lock")
    }

    /// For programs that should draw here: X11 only (SDL would prefer Wayland if the test's session had one).
    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["DISPLAY"] = ":\(number)"
        environment["SDL_VIDEODRIVER"] = "x11"
        environment.removeValue(forKey: "WAYLAND_DISPLAY")
        // Under ASan (scripts/sanitize.sh), no leak check for a camview that draws here: SDL dlopens X11's libraries and
        // closes them in SDL_Quit, so what they leave (Xlib's per-display memory) can no longer be attributed to a
        // library, nor suppressed as one. Memory errors are still checked; camview's leaks are, in its other tests.
        if Sanitizer.active == "address" { environment["ASAN_OPTIONS", default: ""] += " detect_leaks=0" }
        return environment
    }

    /// The whole screen as RGB, through xwd and ffmpeg.
    func screenshot() throws -> Screenshot {
        let path = NSTemporaryDirectory() + "xvfb-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: path + ".xwd")
            try? FileManager.default.removeItem(atPath: path + ".rgb")
        }
        let xwd = try runCommand(which("xwd")!, ["-root", "-silent", "-display", ":\(number)", "-out", path + ".xwd"], timeout: 10)
        guard xwd.status == 0 else { throw TestFailure("xwd failed: \(xwd.stderr)") }
        let ffmpeg = try runCommand(which("ffmpeg")!, ["-v", "error", "-y", "-i", path + ".xwd", "-f", "rawvideo",
                                                       "-pix_fmt", "rgb24", path + ".rgb"], timeout: 20)
        let pixels = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: path + ".rgb"))) ?? Data())
        guard ffmpeg.status == 0, pixels.count == Self.width * Self.height * 3 else {
            throw TestFailure("screenshot is \(pixels.count) bytes: \(ffmpeg.stderr)")
        }
        return Screenshot(width: Self.width, height: Self.height, pixels: pixels)
    }
}

/// An RGB screenshot and the questions the tests ask of it.
private struct Screenshot {
    let width: Int
    let height: Int
    let pixels: [UInt8]

    static func near(_ r: Int, _ g: Int, _ b: Int, _ colour: RGB, within: Int = 40) -> Bool {
        max(abs(r - Int(colour.r)), abs(g - Int(colour.g)), abs(b - Int(colour.b))) < within
    }

    /// Pixels in rows `rows` for which `matches(r, g, b)` holds.
    func count(rows: Range<Int>? = nil, _ matches: (Int, Int, Int) -> Bool) -> Int {
        let rows = rows.map { max(0, $0.lowerBound)..<min(height, $0.upperBound) } ?? 0..<height
        var count = 0
        for y in rows {
            var i = y * width * 3
            for _ in 0..<width {
                if matches(Int(pixels[i]), Int(pixels[i + 1]), Int(pixels[i + 2])) { count += 1 }
                i += 3
            }
        }
        return count
    }

    /// The seven coloured bars (black excluded: it is also the screen's): how many pixels of each.
    var barCounts: [(RGB, Int)] {
        let bars = TestPatternSource.bars.filter { $0 != .black }
        // A pixel whose brightest channel is this dim or dimmer is near no bar (each has a channel at 235), so the
        // black screen around the window skips the per-bar comparison: the same counts, and a screenshot analysed in
        // a fraction of the time in a sanitized build (scripts/sanitize.sh), where the comparison took seconds.
        let dim = bars.map { Int(max($0.r, $0.g, $0.b)) }.min()! - 40
        var counts = [Int](repeating: 0, count: bars.count)
        var i = 0
        while i + 2 < pixels.count {
            let (r, g, b) = (Int(pixels[i]), Int(pixels[i + 1]), Int(pixels[i + 2]))
            if max(r, g, b) > dim, let index = bars.firstIndex(where: { Self.near(r, g, b, $0) }) { counts[index] += 1 }
            i += 3
        }
        return Array(zip(bars, counts))
    }

    /// The coloured bars met along row `y`, left to right, one entry per run of at least 8 pixels.
    func barSequence(row y: Int) -> [RGB] {
        var sequence: [RGB] = []
        var run: (bar: RGB, length: Int)?
        for x in 0..<width {
            let i = (y * width + x) * 3
            let bar = TestPatternSource.bars.first {
                $0 != .black && Self.near(Int(pixels[i]), Int(pixels[i + 1]), Int(pixels[i + 2]), $0)
            }
            if let bar, bar == run?.bar {
                run?.length += 1
            } else {
                if let run, run.length >= 8 { sequence.append(run.bar) }
                run = bar.map { ($0, 1) }
            }
        }
        if let run, run.length >= 8 { sequence.append(run.bar) }
        return sequence
    }

    /// True when `sequence` follows the pattern's left-to-right order (scrolled, so cyclically; black skipped).
    /// Swapped red and blue channels keep the set of colours but not their order.
    static func followsThePatternsOrder(_ sequence: [RGB]) -> Bool {
        let order = TestPatternSource.bars.filter { $0 != .black }
        return zip(sequence, sequence.dropFirst()).allSatisfy { left, right in
            order.firstIndex(of: left).map { order[($0 + 1) % order.count] == right } ?? false
        }
    }

    /// True when every coloured bar is plainly there (each is 80×320 in a 640×480 picture shown 1:1; scrolling may
    /// split one at the picture's edge) and together they cover most of their area.
    func showsAllBars(barWidth: Int = 80, barHeight: Int = 320) -> Bool {
        let counts = barCounts.map(\.1)
        return counts.allSatisfy { $0 >= barWidth * barHeight / 3 } && counts.reduce(0, +) > 7 * barWidth * barHeight * 8 / 10
    }

    /// The box holding every pixel near a coloured bar: the picture's bars area, wherever the window is.
    var barsBox: (x: Range<Int>, y: Range<Int>)? {
        var (minX, minY, maxX, maxY) = (width, height, -1, -1)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                let (r, g, b) = (Int(pixels[i]), Int(pixels[i + 1]), Int(pixels[i + 2]))
                // The bars are saturated; the status line's text and the pattern's white are not told apart here,
                // so only the six coloured bars count.
                guard TestPatternSource.bars.contains(where: { $0 != .black && $0 != .white && Self.near(r, g, b, $0, within: 24) })
                else { continue }
                (minX, minY, maxX, maxY) = (min(minX, x), min(minY, y), max(maxX, x), max(maxY, y))
            }
        }
        return maxX < 0 ? nil : (minX..<maxX + 1, minY..<maxY + 1)
    }
}


/// Screenshots until `condition` holds (every 300 ms, at most `timeout` seconds); returns the last one.
/// Screenshots every 0.3 s until `condition` holds or `timeout` seconds have passed.
/// Under a sanitizer (scripts/sanitize.sh) the test's own pixel analysis is instrumented and can take longer than the
/// whole timeout, which left one screenshot, taken before camview drew anything: there the time spent analysing is
/// not counted, so the timeout bounds camview (and xwd) alone, as it does in the normal run.
private func screenshot(of display: VirtualDisplay, until condition: (Screenshot) -> Bool, timeout: Double) throws -> Screenshot {
    var shot: Screenshot?
    var analysing: UInt64 = 0
    let start = Clock.monotonicNanos()
    while true {
        shot = try display.screenshot()
        let analysis = Clock.monotonicNanos()
        if condition(shot!) { return shot! }
        if Sanitizer.running { analysing += Clock.monotonicNanos() - analysis }
        if Double(Clock.monotonicNanos() - start - analysing) / 1e9 >= timeout { return shot! }
        usleep(300_000)
    }
}

/// The status line's near-white text (WindowSurface.textColour(.info)) and its amber (.warning).
private func isInfoText(_ r: Int, _ g: Int, _ b: Int) -> Bool { r >= 200 && g >= 200 && b >= 200 }
private func isWarningText(_ r: Int, _ g: Int, _ b: Int) -> Bool { r >= 220 && g >= 150 && g <= 220 && b <= 90 }

extension CamdIntegrationTests {
    /// The window shows `url`'s 640×480 test pattern 1:1: all seven coloured bars, and the status line along the
    /// window's bottom edge (a dark bar with light text where the pattern is plain grey); camview exits 0 at --duration.
    private func windowShowsThePattern(_ url: String, display: VirtualDisplay) throws {
        let camview = try BackgroundCamview([url, "--duration", "6"], environment: display.environment)
        let shot = try screenshot(of: display, until: { $0.showsAllBars() }, timeout: 5)
        #expect(shot.showsAllBars(), "bar colours in the screenshot (pixels): \(shot.barCounts); camview: \(camview.output)")

        // The bars are the picture's top two thirds: the picture ends half their height below them. Its bottom rows
        // are plain grey in the pattern; the status line turns them dark, with light text.
        if let bars = shot.barsBox {
            let sequence = shot.barSequence(row: bars.y.lowerBound + bars.y.count / 2)
            #expect(sequence.count >= 6 && Screenshot.followsThePatternsOrder(sequence), "bars left to right: \(sequence)")
            #expect(bars.y.count >= 310 && bars.y.count <= 322, "bars box \(bars)")
            let bottom = bars.y.lowerBound + bars.y.count * 3 / 2
            // The status line's last (or only) row of text.
            let strip = (bottom - 20)..<(bottom - 2)
            let grey = shot.count(rows: strip) { Screenshot.near($0, $1, $2, .grey, within: 12) }
            let text = shot.count(rows: strip, isInfoText)
            #expect(text > 300, "light status-line pixels near the window's bottom: \(text)")
            #expect(grey < 640 * strip.count / 10, "plain grey pixels under the status line: \(grey)")
        } else {
            Issue.record("no bars on screen; camview: \(camview.output)")
        }
        let status = camview.waitForExit(timeout: 15)
        #expect(status == 0, "camview: \(camview.output)")
    }

    @Test(.enabled(if: hasXvfb || inCI, "needs Xvfb, xwd and ffmpeg"))
    func windowShowsTheNativeStreamWithItsStatusLine() throws {
        let display = try VirtualDisplay()
        let camd = try CamdProcess(["--width", "640", "--height", "480"])
        try windowShowsThePattern("tcp://127.0.0.1:\(camd.port)", display: display)
        #expect(camd.stop() == 0)
    }

    @Test(.enabled(if: hasXvfb || inCI, "needs Xvfb, xwd and ffmpeg"))
    func windowShowsTheHTTPStream() throws {
        let display = try VirtualDisplay()
        let camd = try CamdProcess(["--width", "640", "--height", "480"])
        try windowShowsThePattern("http://127.0.0.1:\(camd.httpPort)/stream", display: display)
        #expect(camd.stop() == 0)
    }

    @Test(.enabled(if: hasXvfb || inCI, "needs Xvfb, xwd and ffmpeg"))
    func windowSaysReconnectingWhenCamdGoesAwayAndKeepsRunning() throws {
        let display = try VirtualDisplay()
        let camd = try CamdProcess(["--width", "640", "--height", "480"])
        let camview = try BackgroundCamview(["tcp://127.0.0.1:\(camd.port)", "--duration", "30"], environment: display.environment)
        let live = try screenshot(of: display, until: { $0.showsAllBars() }, timeout: 5)
        #expect(live.showsAllBars(), "\(live.barCounts); camview: \(camview.output)")
        #expect(live.count(isWarningText) == 0)

        #expect(camd.stop() == 0)
        // The last picture stays, dimmed (no bar at full colour any more), under an amber "reconnecting..." line.
        let lost = try screenshot(of: display, until: { $0.count(isWarningText) > 300 }, timeout: 5)
        #expect(camview.process.isRunning, "camview: \(camview.output)")
        #expect(lost.count(isWarningText) > 300, "amber status-line pixels: \(lost.count(isWarningText))")
        #expect(lost.barCounts.allSatisfy { $0.1 < 100 }, "\(lost.barCounts)")
        #expect(lost.count { $0 + $1 + $2 > 90 } > 50_000, "the dimmed picture is gone")

        // SIGINT (SDL turns it into SDL_QUIT) ends camview cleanly.
        kill(camview.process.processIdentifier, SIGINT)
        #expect(camview.waitForExit(timeout: 5) == 0, "camview: \(camview.output)")
    }

    @Test(.enabled(if: hasXvfb || inCI, "needs Xvfb, xwd and ffmpeg"))
    func windowMarksNoSignalPlaceholdersAsWhatTheyAre() throws {
        let display = try VirtualDisplay()
        // A camera that is not there: camd sends its NO SIGNAL picture once a second.
        let camd = try CamdProcess(["--source", "v4l2:/dev/video-camview-test-absent"])
        let camview = try BackgroundCamview(["tcp://127.0.0.1:\(camd.port)", "--duration", "4"], environment: display.environment)
        let shot = try screenshot(of: display, until: { $0.count(isWarningText) > 300 }, timeout: 5)
        // The placeholder is shown as sent (its big red NO SIGNAL is not dimmed), under the amber status line.
        #expect(shot.count(isWarningText) > 300, "amber status-line pixels: \(shot.count(isWarningText)); camview: \(camview.output)")
        #expect(shot.count { $0 > 200 && $1 < 60 && $2 < 60 } > 2000, "red NO SIGNAL pixels")
        #expect(camview.waitForExit(timeout: 15) == 0, "camview: \(camview.output)")
        #expect(camd.stop() == 0)
    }

    @Test func windowFailsCleanlyWhenTheDisplayDoesNotAnswer() throws {
        // A display number with no server: SDL must not fall back to its invisible offscreen driver.
        let number = try #require((150..<200).first { !FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\($0)") })
        var environment = ProcessInfo.processInfo.environment
        environment["DISPLAY"] = ":\(number)"
        environment.removeValue(forKey: "WAYLAND_DISPLAY")
        environment.removeValue(forKey: "SDL_VIDEODRIVER")
        let result = try runCommand(Binaries.path("camview"), ["tcp://127.0.0.1:9", "--window"], timeout: 20, environment: environment)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("camview: cannot open a window: DISPLAY=:\(number): "), "\(result.stderr)")
    }

    @Test(.enabled(if: hasXvfb && which("xdotool") != nil, "needs Xvfb, xwd, ffmpeg and xdotool"))
    func windowKeepsTheAspectRatioWhenResizedAndQuitsOnQ() throws {
        let display = try VirtualDisplay()
        let camd = try CamdProcess(["--width", "640", "--height", "480"])
        let camview = try BackgroundCamview(["tcp://127.0.0.1:\(camd.port)", "--duration", "30"], environment: display.environment)
        _ = try screenshot(of: display, until: { $0.showsAllBars() }, timeout: 5)
        let xdotool = which("xdotool")!
        let search = try runCommand(xdotool, ["search", "--name", "camview"], timeout: 10, environment: display.environment)
        let window = try #require(search.stdout.split(separator: "\n").first.map(String.init), "\(search)")

        // A wide, short window: the 4:3 picture is 400×300 in the middle, black bars left and right.
        _ = try runCommand(xdotool, ["windowsize", window, "900", "300"], timeout: 10, environment: display.environment)
        let wide = try screenshot(of: display, until: { ($0.barsBox?.y.count ?? 0) < 210 }, timeout: 5)
        let bars = try #require(wide.barsBox, "\(wide.barCounts)")
        // Two thirds of 300 rows; the black bar is not counted in the box, so allow for it at either end.
        #expect(abs(bars.y.count - 200) <= 3, "bars box \(bars)")
        #expect(bars.x.count >= 290 && bars.x.count <= 402, "bars box \(bars)")

        _ = try runCommand(xdotool, ["key", "--window", window, "q"], timeout: 10, environment: display.environment)
        #expect(camview.waitForExit(timeout: 5) == 0, "camview: \(camview.output)")
        #expect(camd.stop() == 0)
    }

    // MARK: Without a display

    @Test func windowLetterboxKeepsThePicturesAspectRatio() {
        let picture = JPEGInfo(width: 640, height: 480)
        #expect(WindowGeometry.letterbox(picture: picture, in: 640, 480) == WindowRect(x: 0, y: 0, width: 640, height: 480))
        #expect(WindowGeometry.letterbox(picture: picture, in: 900, 300) == WindowRect(x: 250, y: 0, width: 400, height: 300))
        #expect(WindowGeometry.letterbox(picture: picture, in: 300, 600) == WindowRect(x: 0, y: 187, width: 300, height: 225))
    }

    @Test func windowDecodesLargeFramesReducedButNeverBelowTheWindow() {
        let hd = JPEGInfo(width: 1920, height: 1080)
        // 960×540 covers a 900×506 letterbox: decode at 1/2, not 3/8 (720×405, which would be scaled up).
        #expect(WindowGeometry.decodeSize(hd, covering: WindowRect(x: 0, y: 0, width: 900, height: 506))
            == JPEGInfo(width: 960, height: 540))
        #expect(WindowGeometry.decodeSize(hd, covering: WindowRect(x: 0, y: 0, width: 1920, height: 1080)) == hd)
        // A picture smaller than the window is decoded as it is; the renderer scales it up.
        let small = JPEGInfo(width: 320, height: 240)
        #expect(WindowGeometry.decodeSize(small, covering: WindowRect(x: 0, y: 0, width: 1024, height: 768)) == small)
    }

    @Test func windowStatusLineWrapsBetweenFieldsAndShrinksToFit() {
        let line = "640x480  30.0 fps  latency 3 ms  dropped 0  skipped 140"
        #expect(WindowOverlay.fields(WindowFont.ascii(line)).map { String(decoding: $0, as: UTF8.self) }
            == ["640x480", "30.0 fps", "latency 3 ms", "dropped 0", "skipped 140"])
        let overlay = WindowOverlay(text: line, tone: .info)
        // 480 rows: font pixels 2×2; 640 px hold 52 characters, so the line takes two rows.
        let layout = overlay.layout(width: 640, height: 480)
        #expect(layout.scale == 2)
        #expect(layout.bar == WindowRect(x: 0, y: 480 - 42, width: 640, height: 42))
        #expect(layout.glyphPixels.allSatisfy { $0.x >= 0 && $0.x + $0.width <= 640 && $0.y >= layout.bar.y && $0.y < 480 })
        // Wide enough for one row.
        #expect(overlay.layout(width: 1280, height: 480).bar.height == 24)
        // A long reconnect reason wraps at single spaces and, past three rows, ends in "...".
        let reason = WindowOverlay(text: "reconnecting… (attempt 2: " + String(repeating: "no route to host ", count: 20) + ")",
                                   tone: .warning)
        #expect(reason.layout(width: 320, height: 240).scale == 1)
        let rows = WindowOverlay.wrap(WindowOverlay.fields(WindowFont.ascii(reason.text)), columns: 52)
        #expect(rows.allSatisfy { $0.count <= 52 } && rows.count > 3)
        #expect(String(decoding: rows[0], as: UTF8.self).hasPrefix("reconnecting... (attempt 2: no route"))
    }

    @Test func windowFontCoversPrintableASCII() {
        #expect(WindowFont.ascii("640×480 …é") == Array("640x480 ...?".utf8))
        for byte in UInt8(0x21)...UInt8(0x7E) {
            #expect(WindowFont.glyph(byte) != 0, "glyph \(byte) is blank")
        }
        #expect(WindowFont.glyph(0x20) == 0)
        // The capital A: a round top, a bar across the middle.
        #expect((0..<5).map { WindowFont.isSet(WindowFont.glyph(UInt8(ascii: "A")), row: 3, column: $0) } == [true, true, true, true, true])
    }
}
