// camview in a terminal, driven through a real tmux: the pane's cells carry the test pattern's colours, the
// picture re-fits when the pane is resized, and q, Ctrl-C and a lost server all give the terminal back intact.
import Capture
import Foundation
import Testing
import TestSupport

/// One tmux server (its own socket) with one pane running `command` under sh, which reports camview's exit
/// status and the terminal's echo setting afterwards, then DONE, and then stays, so the pane can be inspected.
final class TmuxPane {
    private let tmux = which("tmux")!
    private let socket = "camview-test-\(UUID().uuidString.prefix(8))"

    init(_ command: [String], columns: Int, rows: Int) throws {
        let quoted = command.map { "'\($0)'" }.joined(separator: " ")
        // The shell ignores SIGINT (camview installs its own handler), so Ctrl-C reaches only camview.
        let script = "trap '' INT; \(quoted); echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -x -- '-*echo'; echo DONE; sleep 60"
        let started = try run(["new-session", "-d", "-x", "\(columns)", "-y", "\(rows)", "sh", "-c", script])
        guard started.status == 0 else { throw TestFailure("tmux new-session: \(started.stderr)") }
    }

    /// Runs one tmux command. Spawned and reaped here rather than through Foundation's Process, which can miss
    /// the exit of a tmux client that has just forked its server (the test then hangs in waitUntilExit).
    @discardableResult
    func run(_ arguments: [String]) throws -> CommandResult {
        let output = NSTemporaryDirectory() + "tmux-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let words: [String] = [tmux, "-L", socket, "-f", "/dev/null"] + arguments
        let environment: [String] = ["PATH=/usr/bin:/bin", "TERM=xterm-256color", "HOME=\(NSTemporaryDirectory())"]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, tmux, &actions, nil, argv, envp) == 0 else { throw TestFailure("cannot run tmux") }
        var status: Int32 = 0
        guard waitUntil(timeout: 10, interval: 0.005, { waitpid(pid, &status, WNOHANG) != 0 }) else {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
            throw TestFailure("tmux \(arguments) did not finish within 10 s")
        }
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return CommandResult(status: (status >> 8) & 0xFF, stdout: text, stderr: "")
    }

    /// The visible screen; with `escapes`, including the colour sequences (capture-pane -e).
    func capture(escapes: Bool = false) throws -> String {
        try run(["capture-pane", "-p"] + (escapes ? ["-e"] : [])).stdout
    }

    func format(_ text: String) throws -> String {
        try run(["display-message", "-p", text]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls the screen until `condition` holds or `timeout` passes; returns the last capture.
    func waitForScreen(timeout: Double, escapes: Bool = false, _ condition: (String) -> Bool) throws -> String {
        var screen = ""
        _ = try waitUntil(timeout: timeout, interval: 0.1) {
            screen = try capture(escapes: escapes)
            return condition(screen)
        }
        return screen
    }

    deinit { _ = try? run(["kill-server"]) }
}

/// The cells of a `capture-pane -e` screen: for each line, the foreground colour of each "▀".
func halfBlockCells(_ screen: String) -> [[(r: Int, g: Int, b: Int)]] {
    screen.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        var cells: [(Int, Int, Int)] = []
        var foreground = (0, 0, 0)
        var rest = Substring(line)
        while let first = rest.first {
            if first == "\u{1B}", rest.dropFirst().first == "[", let end = rest.firstIndex(where: { $0 == "m" }) {
                let codes = rest[rest.index(rest.startIndex, offsetBy: 2)..<end].split(separator: ";").compactMap { Int($0) }
                var i = 0
                while i < codes.count {
                    if codes[i] == 38, i + 4 < codes.count, codes[i + 1] == 2 {
                        foreground = (codes[i + 2], codes[i + 3], codes[i + 4])
                        i += 5
                    } else if codes[i] == 48, i + 4 < codes.count, codes[i + 1] == 2 {
                        i += 5
                    } else {
                        if codes[i] == 0 || codes[i] == 39 { foreground = (0, 0, 0) }
                        i += 1
                    }
                }
                rest = rest[rest.index(after: end)...]
            } else {
                if first == "\u{2580}" { cells.append(foreground) }
                rest = rest.dropFirst()
            }
        }
        return cells
    }
}

/// How many cells show each coloured bar of the test pattern.
func barCounts(_ cells: [[(r: Int, g: Int, b: Int)]]) -> [String: Int] {
    var counts: [String: Int] = [:]
    for bar in TestPatternSource.bars where bar != .black {
        counts["\(bar)"] = cells.joined().filter {
            max(abs($0.r - Int(bar.r)), abs($0.g - Int(bar.g)), abs($0.b - Int(bar.b))) < 40
        }.count
    }
    return counts
}

private let hasTmux = which("tmux") != nil || ProcessInfo.processInfo.environment["CI"] != nil

extension CamdIntegrationTests {
    @Test(.enabled(if: hasTmux, "needs tmux"))
    func camviewDrawsTheTestPatternInTmuxRefitsOnResizeAndQRestoresTheTerminal() throws {
        let camd = try CamdProcess(["--width", "640", "--height", "480"])
        let pane = try TmuxPane([Binaries.path("camview"), "tcp://127.0.0.1:\(camd.port)", "--tty"], columns: 100, rows: 30)

        // The status line (last row) shows the stream with a non-zero rate.
        func statusLine(_ screen: String) -> String { screen.split(separator: "\n").last { $0.contains(" fps") }.map(String.init) ?? "" }
        func fps(_ status: String) -> Double {
            status.components(separatedBy: " fps").first?.split(separator: " ").last.flatMap { Double($0) } ?? 0
        }
        let screen = try pane.waitForScreen(timeout: 15, escapes: true) { screen in
            screen.contains("640x480") && fps(statusLine(screen)) > 20
        }
        #expect(try pane.format("#{alternate_on} #{cursor_flag}") == "1 0", "picture on the alternate screen, cursor hidden")
        let status = statusLine(screen)
        #expect(fps(status) > 20, "status line: \(status)")
        #expect(status.contains("latency") && status.contains("dropped"), "\(status)")
        // The terminal redraws at most 15 times a second, the stream brings 30: the display skips frames (latest
        // wins in the viewer) while the reader keeps up, so camd drops none for this viewer.
        func number(after label: String, in status: String) -> Int? {
            status.components(separatedBy: label + " ").dropFirst().first?.split(separator: " ").first.flatMap { Int($0) }
        }
        let later = try pane.waitForScreen(timeout: 10) { (number(after: "skipped", in: statusLine($0)) ?? 0) >= 15 }
        #expect((number(after: "skipped", in: statusLine(later)) ?? 0) >= 15 && number(after: "dropped", in: statusLine(later)) == 0,
                "\(statusLine(later))")

        // 640×480 in 100×29 cells at two pixels a cell: 77 columns × 29 rows of half-blocks, every bar colour in them.
        let cells = halfBlockCells(screen).filter { !$0.isEmpty }
        #expect(cells.count == 29, "picture rows: \(cells.count)")
        #expect(cells.map(\.count).max() == 77, "picture columns: \(cells.map(\.count).max() ?? 0)")
        let counts = barCounts(cells)
        #expect(counts.values.filter { $0 >= 29 * 5 }.count == 7, "cells per bar colour: \(counts)")

        // Resized to 60×20: the picture re-fits to 50 × 19 cells (height-bound now).
        try pane.run(["resize-window", "-x", "60", "-y", "20"])
        let resized = try pane.waitForScreen(timeout: 10, escapes: true) { screen in
            let cells = halfBlockCells(screen).filter { !$0.isEmpty }
            return cells.map(\.count).max() == 50 && cells.count == 19
        }
        let newCells = halfBlockCells(resized).filter { !$0.isEmpty }
        #expect(newCells.map(\.count).max() == 50 && newCells.count == 19,
                "after resize: \(newCells.count) rows, \(newCells.map(\.count).max() ?? 0) columns")
        #expect(barCounts(newCells).values.filter { $0 >= 19 * 3 }.count == 7, "\(barCounts(newCells))")

        // q: camview exits 0 and the terminal is as before — main screen, cursor shown, echo on.
        try pane.run(["send-keys", "q"])
        let after = try pane.waitForScreen(timeout: 10) { $0.contains("DONE") }
        #expect(after.contains("EXIT=0"), "\(after)")
        #expect(after.split(separator: "\n").contains("echo"), "echo restored: \(after)")
        #expect(!after.contains("\u{2580}"), "the picture went with the alternate screen")
        #expect(try pane.format("#{alternate_on} #{cursor_flag}") == "0 1")
        #expect(camd.stop() == 0)
    }

    @Test(.enabled(if: hasTmux, "needs tmux"))
    func camviewInATerminalRestoresItOnCtrlCAndWhenTheServerIsGone() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let interrupted = try TmuxPane([Binaries.path("camview"), "tcp://127.0.0.1:\(camd.port)", "--tty"], columns: 80, rows: 24)
        _ = try interrupted.waitForScreen(timeout: 15) { $0.contains("320x240") }
        try interrupted.run(["send-keys", "C-c"])
        let afterInterrupt = try interrupted.waitForScreen(timeout: 10) { $0.contains("DONE") }
        #expect(afterInterrupt.contains("EXIT=0") && afterInterrupt.split(separator: "\n").contains("echo"), "\(afterInterrupt)")
        #expect(try interrupted.format("#{alternate_on} #{cursor_flag}") == "0 1")

        // With --no-reconnect a lost server ends camview with status 1 and the reason, terminal restored.
        let abandoned = try TmuxPane([Binaries.path("camview"), "tcp://127.0.0.1:\(camd.port)", "--tty", "--no-reconnect"],
                                     columns: 80, rows: 24)
        _ = try abandoned.waitForScreen(timeout: 15) { $0.contains("320x240") }
        #expect(camd.stop() == 0)
        let afterLoss = try abandoned.waitForScreen(timeout: 15) { $0.contains("DONE") }
        #expect(afterLoss.contains("EXIT=1") && afterLoss.contains("closed the connection"), "\(afterLoss)")
        #expect(afterLoss.split(separator: "\n").contains("echo"))
        #expect(try abandoned.format("#{alternate_on} #{cursor_flag}") == "0 1")
    }

    @Test(.enabled(if: hasTmux, "needs tmux"))
    func camviewInATerminalSaysReconnectingAndResumesWhenCamdReturns() throws {
        let port = try freePort()
        var camd = try CamdProcess(["--listen", "127.0.0.1:\(port)", "--http-listen", "127.0.0.1:0"], listen: false)
        _ = try camd.waitForLog(containing: "native viewers", timeout: 10)
        let pane = try TmuxPane([Binaries.path("camview"), "127.0.0.1:\(port)", "--tty"], columns: 80, rows: 24)
        _ = try pane.waitForScreen(timeout: 15) { $0.contains("640x480") }
        #expect(camd.stop() == 0)
        let waiting = try pane.waitForScreen(timeout: 10) { $0.contains("reconnecting") }
        #expect(waiting.contains("reconnecting… (attempt"), "\(waiting)")
        #expect(waiting.contains("\u{2580}"), "the last picture stays up while reconnecting")

        camd = try CamdProcess(["--listen", "127.0.0.1:\(port)", "--http-listen", "127.0.0.1:0"], listen: false)
        _ = try camd.waitForLog(containing: "native viewers", timeout: 10)
        let resumed = try pane.waitForScreen(timeout: 15) { $0.contains("640x480") && !$0.contains("reconnecting") }
        #expect(resumed.contains("640x480") && resumed.contains(" fps"), "\(resumed)")
        try pane.run(["send-keys", "q"])
        #expect(try pane.waitForScreen(timeout: 10) { $0.contains("DONE") }.contains("EXIT=0"))
        #expect(camd.stop() == 0)
    }
}
