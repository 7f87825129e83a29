// camview: watch a camd stream — in a window, in the terminal (over SSH), or headless (statistics, a snapshot,
// a recording). A reader thread receives; the display shows the newest frame it finds when it is ready.
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CamdSystem
import FoundationEssentials
import Viewer

/// How to render in a terminal: `--tty` alone picks the best the terminal reliably supports.
enum TerminalGraphics: String, ExpressibleByArgument, CaseIterable {
    case auto, blocks, kitty, sixel
}

struct CamView: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camview",
        abstract: "Watch a camd stream in a window, in the terminal, or headless.",
        discussion: """
        URL is tcp://HOST:PORT (camd's native protocol) or http://HOST:PORT/stream (HTTP MJPEG, camd's or any \
        MJPEG server's). The scheme defaults to tcp, the host to localhost, the port to 9999 (tcp) or 8080 (http).

        With a display (DISPLAY or WAYLAND_DISPLAY) camview opens a window: f fullscreen, i toggles the info \
        line, q or Esc quits. Without one, or with --tty, it draws in the terminal with 24-bit colour \
        half-blocks, or real pixels in kitty and sixel terminals (q quits). When stdout is not a terminal and there is no display, it prints statistics.

        A stream that goes away after it worked is retried with backoff (the picture stays up, marked \
        "reconnecting…"). For HTTP access control, put ?token=… in the URL or USER:PASSWORD in CAMVIEW_AUTH.

        Exit status: 0 when done, 1 when the stream cannot be reached or is not a camera stream, 64 on bad usage.
        """)

    @Argument(help: "tcp://HOST:PORT, http://HOST:PORT/stream, HOST:PORT or HOST.")
    var url: String = "tcp://localhost:9999"

    @Flag(help: "Headless: print fps, MB/s, latency (p50/max) and dropped frames once a second.")
    var stats = false

    @Option(help: ArgumentHelp("Save one frame as a JPEG file and exit.", valueName: "file"))
    var snapshot: String?

    @Option(help: ArgumentHelp("Append every received camera frame to FILE (raw MJPEG: ffplay, VLC, camd file:).", valueName: "file"))
    var record: String?

    @Option(help: ArgumentHelp("Draw in the terminal even when a display is available: blocks, kitty, sixel or auto (--tty alone).",
                               valueName: "mode"))
    var tty: TerminalGraphics?

    @Flag(help: "Open a window even when DISPLAY is unset (SDL picks the video driver).")
    var window = false

    @Flag(help: "Exit when the stream goes away instead of reconnecting.")
    var noReconnect = false

    @Option(help: "Stop after this many frames have been received.")
    var frames: Int?

    @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(help: ArgumentHelp("Seconds to wait for a connection; the longest silence before a stream counts as lost.",
                               valueName: "seconds"))
    var timeout: Double = 5

    func validate() throws {
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
        if window && tty != nil { throw ValidationError("--window and --tty exclude each other") }
        if snapshot != nil && (stats || record != nil || tty != nil || window) {
            throw ValidationError("--snapshot saves one frame and exits: it does not combine with --stats, --record, --tty or --window")
        }
        do { _ = try StreamURL(parsing: url) } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // A parent may have left these blocked (Foundation's Process does); every mode handles them, so take
        // them back before the reader thread starts and inherits the mask.
        var handled = sigset_t()
        sigemptyset(&handled)
        for signo in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH] { sigaddset(&handled, signo) }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
        let target = try! StreamURL(parsing: url)
        var options = ReaderOptions()
        options.timeout = timeout
        options.reconnect = !noReconnect && snapshot == nil
        options.frameLimit = frames
        if let auth = environment("CAMVIEW_AUTH"), !auth.isEmpty {
            options.authorization = "Basic " + Data(auth.utf8).base64EncodedString()
        }
        let recorder: MJPEGRecorder?
        do { recorder = try record.map { path throws(SystemError) in try MJPEGRecorder(path: path) } } catch { fail("\(error)") }
        let session: ViewerSession
        do {
            session = try ViewerSession(url: target, options: options, recorder: recorder,
                                        duration: duration)
        } catch {
            fail("\(error)")
        }

        let failure: String?
        if let snapshot {
            failure = HeadlessView.saveSnapshot(session, to: snapshot)
        } else if stats {
            failure = HeadlessView.printStats(session)
        } else {
            failure = show(session)
        }
        session.stop()
        if let recorder { say(recorder.summary) }
        if let failure { fail(failure) }
    }

    /// Window, terminal, or (nothing to draw on) statistics.
    private func show(_ session: ViewerSession) -> String? {
        let hasDisplay = environment("DISPLAY") != nil || environment("WAYLAND_DISPLAY") != nil
        if tty == nil, window || hasDisplay {
            switch WindowDisplay.open(title: "camview — \(session.url)") {
            case .success(var display):
                return display.run(session)
            case .failure(let error):
                if window { return "cannot open a window: \(error)" }
                note("cannot open a window (\(error)); drawing in the terminal")
            }
        }
        if tty != nil || isatty(1) == 1 {
            switch TerminalDisplay.open(graphics: tty ?? .auto) {
            case .success(var display):
                return display.run(session)
            case .failure(let error):
                if tty != nil { return "\(error)" }
                note("\(error); printing statistics")
            }
        }
        return HeadlessView.printStats(session)
    }
}

/// One line to stdout, written at once (print would buffer it when stdout is a file or a pipe, and a log of a
/// long --stats run must be current).
func say(_ line: String) {
    try? Files.writeAll(1, Array((line + "\n").utf8))
}

func note(_ message: String) {
    try? Files.writeAll(2, Array("camview: \(message)\n".utf8))
}

func fail(_ message: String) -> Never {
    note(message)
    exit(1)
}

// `--tty` alone means `--tty auto` (ArgumentParser options always take a value).
var arguments = Array(CommandLine.arguments.dropFirst())
for index in arguments.indices where arguments[index] == "--tty" {
    let next = index + 1 < arguments.count ? arguments[index + 1] : nil
    if next.map({ TerminalGraphics(rawValue: $0) == nil }) ?? true { arguments[index] = "--tty=auto" }
}
CamView.main(arguments)

func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
