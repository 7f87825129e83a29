// TerminalDisplay: camview in a terminal (an SSH session on the camera box). 24-bit colour half-blocks fitted to
// the window and re-fitted on SIGWINCH, a status line at the bottom, q to quit. The terminal is put back as it
// was (main screen, cursor, echo) on every way out: q, Ctrl-C, SIGTERM/SIGHUP, a stream that ended.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import JPEG
import Viewer

struct TerminalDisplay {
    private let graphics: TerminalGraphics
    /// What is drawn with: `graphics`, with auto resolved when the terminal is entered.
    private var mode = TerminalGraphics.blocks
    /// A cell's size in pixels (kitty and sixel).
    private var cell = (width: 8, height: 16)
    private let keyboard: Bool
    private var saved = termios()
    private let signals: SignalPipe
    private var size = (columns: 80, rows: 24)
    private var showStatus = true
    private let decoder: JPEGDecoder
    /// Redraws at most this often: a full-colour frame is tens of kilobytes of escape codes, and an SSH link
    /// should not carry thirty of them a second. Frames in between are skipped (latest wins).
    private let minInterval: UInt64 = 1_000_000_000 / 15

    static func open(graphics: TerminalGraphics) -> Result<TerminalDisplay, DisplayError> {
        guard isatty(1) == 1 else {
            return .failure(DisplayError(description: "--tty needs a terminal on stdout (use --stats for a log)"))
        }
        let decoder: JPEGDecoder
        let signals: SignalPipe
        do {
            decoder = try JPEGDecoder()
            signals = try SignalPipe([SIGINT, SIGTERM, SIGHUP, SIGWINCH])
        } catch {
            return .failure(DisplayError(description: "\(error)"))
        }
        return .success(TerminalDisplay(graphics: graphics, decoder: decoder, signals: signals))
    }

    private init(graphics: TerminalGraphics, decoder: JPEGDecoder, signals: SignalPipe) {
        self.graphics = graphics
        self.decoder = decoder
        self.signals = signals
        keyboard = isatty(0) == 1
    }

    mutating func run(_ session: ViewerSession) -> String? {
        enter()
        defer { leave() }
        var lastDraw: UInt64 = 0
        var lastStatus: UInt64 = 0
        var latest: ViewFrame?
        while true {
            // Until the next redraw is due the mailbox is not even looked at: frames that arrive meanwhile
            // replace each other there and count as skipped, and only the newest is ever decoded.
            let now = Clock.monotonicNanos()
            let due = lastDraw + minInterval
            let ready = now >= due
            let timeout = session.millisUntilDeadline(fallback: ready ? 250 : Int32((due - now) / 1_000_000) + 1)
            let woken = try? Poll.wait([(ready ? session.wakeFD : -1, .readable), (signals.readFD, .readable),
                                        (keyboard ? 0 : -1, .readable)], timeoutMilliseconds: timeout)
            let input = woken?[2] ?? []

            var redrawAll = false
            for signal in signals.drain() {
                if signal == SIGWINCH { redrawAll = true } else { return nil }
            }
            if input.contains(.readable) {
                switch readKeys() {
                case .quit: return nil
                case .toggleStatus:
                    showStatus.toggle()
                    redrawAll = true
                case .none: break
                }
            } else if !input.isDisjoint(with: [.hangup, .error]) {
                return nil  // the terminal went away (SSH closed)
            }

            let later = Clock.monotonicNanos()
            guard redrawAll || later >= due else { continue }
            let current = session.mailbox.take()
            if let frame = current.latest { latest = frame }
            if case .ended(let failure) = current.state { return failure }
            if session.durationReached { return nil }
            if redrawAll {
                querySize()
                if mode == .kitty { write(KittyGraphics.delete) }
                write("\u{1B}[0m\u{1B}[2J")
            }
            if let frame = redrawAll ? latest : current.frame {
                draw(frame)
                lastDraw = later
            }
            if redrawAll || current.frame != nil || later - lastStatus >= 500_000_000 {
                drawStatus(current, latest: latest)
                lastStatus = later
            }
        }
    }

    // MARK: - Drawing

    private var pictureRows: Int { max(1, size.rows - (showStatus ? 1 : 0)) }

    private func draw(_ frame: ViewFrame) {
        guard let info = try? decoder.info(frame.jpeg) else { return }
        var out = Array("\u{1B}[?2026h".utf8)  // synchronized update where supported: no tearing
        switch mode {
        case .blocks, .auto:
            let fit = HalfBlockPicture.fit(width: info.width, height: info.height, columns: size.columns, rows: pictureRows)
            guard fit.width > 0, let image = decode(frame, info, to: fit) else { return }
            let column = (size.columns - fit.width) / 2 + 1
            let row = (pictureRows - fit.height / 2) / 2 + 1
            out += HalfBlockPicture.render(image, row: row, column: column)
        case .kitty, .sixel:
            // Pixels: the picture area in the terminal's pixels (TIOCGWINSZ; 8×16 a cell when it does not say).
            // A sixel image that touched the last line would scroll the screen: keep one row spare.
            let rows = mode == .sixel ? pictureRows - 1 : pictureRows
            let areaWidth = size.columns * cell.width, areaHeight = rows * cell.height
            guard rows > 0 else { return }
            var fit = (width: areaWidth, height: areaWidth * info.height / info.width)
            if fit.height > areaHeight { fit = (areaHeight * info.width / info.height, areaHeight) }
            if mode == .sixel { fit.height -= fit.height % 6 }
            guard fit.width > 0, fit.height > 0, let image = decode(frame, info, to: fit) else { return }
            let columnsUsed = (fit.width + cell.width - 1) / cell.width
            let rowsUsed = (fit.height + cell.height - 1) / cell.height
            out += Array("\u{1B}[\((rows - rowsUsed) / 2 + 1);\((size.columns - columnsUsed) / 2 + 1)H".utf8)
            out += mode == .kitty ? KittyGraphics.render(image, columns: columnsUsed, rows: rowsUsed) : SixelPicture.render(image)
        }
        out += Array("\u{1B}[?2026l".utf8)
        write(out)
    }

    /// Decodes at the cheapest libturbojpeg scale that still covers `size`, then averages down to it exactly.
    private func decode(_ frame: ViewFrame, _ info: JPEGInfo, to size: (width: Int, height: Int)) -> RGBImage? {
        let decoded = JPEGDecoder.scaledSize(info, covering: size.width, size.height)
        var pixels = [UInt8](repeating: 0, count: decoded.width * decoded.height * 3)
        let ok = frame.jpeg.withUnsafeBytes { jpeg in
            pixels.withUnsafeMutableBytes { out in
                (try? decoder.decode(jpeg, into: out.baseAddress!, size: decoded, pitch: decoded.width * 3, format: .rgb)) != nil
            }
        }
        guard ok else { return nil }
        return RGBImage(width: decoded.width, height: decoded.height, pixels: pixels)
            .shrunk(toWidth: min(size.width, decoded.width), height: min(size.height, decoded.height))
    }

    private func drawStatus(_ snapshot: MailboxSnapshot, latest: ViewFrame?) {
        guard showStatus else { return }
        var text = " " + ViewerStats.statusLine(state: snapshot.state, latest: latest, stats: snapshot.stats) + "  (q quits, i hides this)"
        let width = size.columns
        if text.count > width { text = String(text.prefix(width)) }
        text += String(repeating: " ", count: width - text.count)
        write("\u{1B}[\(size.rows);1H\u{1B}[0m\u{1B}[7m\(text)\u{1B}[0m")
    }

    // MARK: - The terminal

    private mutating func enter() {
        querySize()
        if keyboard, tcgetattr(0, &saved) == 0 {
            var raw = saved
            // No line buffering, no echo; ISIG stays on, so Ctrl-C is a SIGINT we catch and exit from cleanly.
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
            raw.c_cc.6 = 1  // VMIN
            raw.c_cc.5 = 0  // VTIME
            tcsetattr(0, TCSANOW, &raw)
        }
        mode = graphics == .auto ? detectGraphics() : graphics
        // Alternate screen, hidden cursor, cleared.
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[0m\u{1B}[2J")
    }

    /// kitty's protocol where the terminal says it is kitty (or WezTerm/ghostty, which implement it); sixel
    /// where the terminal lists it (attribute 4) in its answer to Primary Device Attributes; else half-blocks.
    private func detectGraphics() -> TerminalGraphics {
        let term = environment("TERM") ?? "", program = environment("TERM_PROGRAM") ?? ""
        if environment("KITTY_WINDOW_ID") != nil || term == "xterm-kitty" || ["WezTerm", "ghostty"].contains(program) {
            return .kitty
        }
        guard keyboard else { return .blocks }
        write("\u{1B}[c")
        var answer: [UInt8] = []
        let deadline = Clock.monotonicNanos() + 300_000_000
        while !answer.contains(UInt8(ascii: "c")), Clock.monotonicNanos() < deadline {
            guard (try? Poll.wait(0, for: .readable, timeoutMilliseconds: 100)) != nil else { continue }
            var bytes = [UInt8](repeating: 0, count: 64)
            let n = bytes.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            answer += bytes.prefix(n)
        }
        // ESC [ ? 6 2 ; 4 ; 2 2 c
        let text = String(decoding: answer, as: UTF8.self)
        guard let start = text.firstIndex(of: "?"), let end = text.lastIndex(of: "c"), start < end else { return .blocks }
        return text[text.index(after: start)..<end].split(separator: ";").contains("4") ? .sixel : .blocks
    }

    private func leave() {
        if mode == .kitty { write(KittyGraphics.delete) }
        write("\u{1B}[0m\u{1B}[2J\u{1B}[?25h\u{1B}[?1049l")
        if keyboard {
            var original = saved
            tcsetattr(0, TCSANOW, &original)
        }
        signals.restore()
    }

    private mutating func querySize() {
        var window = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0, window.ws_row > 1 {
            size = (Int(window.ws_col), Int(window.ws_row))
            if window.ws_xpixel >= window.ws_col, window.ws_ypixel >= window.ws_row {
                cell = (Int(window.ws_xpixel) / size.columns, Int(window.ws_ypixel) / size.rows)
            }
        }
    }

    private enum Key { case quit, toggleStatus }

    private func readKeys() -> Key? {
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = bytes.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n == 0 { return .quit }  // end of input
        guard n > 0 else { return nil }
        var key: Key?
        for (index, byte) in bytes.prefix(n).enumerated() {
            switch byte {
            case UInt8(ascii: "q"), UInt8(ascii: "Q"), 3: return .quit
            // A lone Esc (not the start of an arrow key's sequence).
            case 0x1B where index == n - 1 && n == 1: return .quit
            case UInt8(ascii: "i"), UInt8(ascii: "I"): key = .toggleStatus
            default: break
            }
        }
        return key
    }

    private func write(_ text: String) { write(Array(text.utf8)) }

    /// A terminal that went away is noticed by the loop (POLLHUP on stdin, SIGHUP); a failed write is dropped.
    private func write(_ bytes: [UInt8]) { try? Files.writeAll(1, bytes) }
}
