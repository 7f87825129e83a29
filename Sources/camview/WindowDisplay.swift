// WindowDisplay: camview's window — the display loop on the main thread. It waits briefly for SDL events, takes
// the newest frame from the mailbox (the reader thread never waits for it), decodes only that one, and draws it
// letterboxed with the status line. Keys: f fullscreen, i info line, q or Esc quit.
import CamdSystem
import JPEG
import Viewer

struct DisplayError: Error, CustomStringConvertible { let description: String }

struct WindowDisplay {
    private let surface: WindowSurface
    private let decoder: JPEGDecoder
    private let title: String

    /// The longest SDL wait between two looks at the mailbox. A new frame or state change wakes the wait at once
    /// (the mailbox's observer pushes an SDL user event), so this only bounds how stale the status line can get.
    private static let pollMillis: Int32 = 250

    /// Opens the window (640×480 until the first frame says otherwise); fails when SDL finds no display.
    static func open(title: String) -> Result<WindowDisplay, DisplayError> {
        let decoder: JPEGDecoder
        do { decoder = try JPEGDecoder() } catch { return .failure(DisplayError(description: "\(error)")) }
        return WindowSurface.open(title: title, width: 640, height: 480).map {
            WindowDisplay(surface: $0, decoder: decoder, title: title)
        }
    }

    /// Shows the stream until q, Esc, the window is closed, SIGINT, --frames/--duration, or the reader ends.
    /// Returns the reader's failure, if that is what ended it.
    mutating func run(_ session: ViewerSession) -> String? {
        session.mailbox.onChange { WindowSurface.wake() }
        defer {
            session.mailbox.onChange(nil)  // no SDL calls from the reader once SDL is gone
            surface.close()
        }
        var view = WindowView()
        while true {
            let events = surface.events(waitingUpTo: session.millisUntilDeadline(fallback: Self.pollMillis))
            for event in events {
                switch event {
                case .quit, .key("q"), .key("Q"), .key("\u{1B}"):
                    return nil
                case .key("f"), .key("F"):
                    surface.toggleFullscreen()
                case .key("i"), .key("I"):
                    view.showsInfo.toggle()
                    view.needsDrawing = true
                case .resized(let byUser):
                    if byUser { view.userSized = true }
                    view.needsDrawing = true
                case .changed:
                    view.needsDrawing = true
                case .key:
                    break
                }
            }

            let snapshot = session.mailbox.take()
            if let frame = snapshot.frame {
                if (frame.width, frame.height) != view.fittedTo ?? (0, 0), !view.userSized, !surface.isFullscreen {
                    surface.fit(width: frame.width, height: frame.height, centre: view.fittedTo == nil)
                    view.fittedTo = (frame.width, frame.height)
                }
                show(frame, in: &view)
            } else if let shown = view.shown, let picture = view.picture, !events.isEmpty,
                      decodeSize(for: picture) != surface.textureSize {
                // Resized while no new frame came: decode the picture again at the size the window now needs.
                show(shown, in: &view)
            }
            if let failure = view.failure { return failure }
            if snapshot.state != view.state {
                view.state = snapshot.state
                view.needsDrawing = true
                view.lastTitle = 0
            }
            draw(snapshot, &view)
            if case .ended(let failure) = snapshot.state { return failure }
            if session.durationReached { return nil }
        }
    }

    /// The decode size that fills the window's letterbox for a `picture`-sized JPEG.
    private func decodeSize(for picture: JPEGInfo) -> JPEGInfo {
        let output = surface.outputSize
        return WindowGeometry.decodeSize(picture, covering: WindowGeometry.letterbox(picture: picture, in: output.width,
                                                                                    output.height))
    }

    /// Decodes `frame` into the texture. A frame that does not decode is counted and the previous picture stays;
    /// a texture SDL cannot create ends the display.
    private func show(_ frame: ViewFrame, in view: inout WindowView) {
        // The frame's header size is what the sender claimed; the JPEG's own size is what decodes.
        guard let info = try? decoder.info(frame.jpeg) else {
            view.badFrames += 1
            return
        }
        do {
            try surface.upload(frame.jpeg, size: decodeSize(for: info), decoder: decoder)
            view.shown = frame
            view.picture = info
            view.needsDrawing = true
        } catch {
            switch error {
            case .texture(let reason): view.failure = reason
            case .decode: view.badFrames += 1
            }
        }
    }

    /// Presents when something changed, and at least once a second so the numbers stay current when frames stop;
    /// the title carries the same line, updated at most once a second.
    private func draw(_ snapshot: MailboxSnapshot, _ view: inout WindowView) {
        let now = Clock.monotonicNanos()
        let titleDue = now - view.lastTitle >= 1_000_000_000
        guard view.needsDrawing || titleDue || now - view.lastDrawn >= 1_000_000_000 else { return }
        var line = ViewerStats.statusLine(state: snapshot.state, latest: snapshot.latest, stats: snapshot.stats)
        if view.badFrames > 0 { line += "  undecodable \(view.badFrames)" }
        let live = snapshot.state == .streaming && snapshot.latest?.isPlaceholder != true
        // Not live (connecting, reconnecting, stopped, no signal): the line shows even when toggled off.
        let overlay = view.showsInfo || !live ? WindowOverlay(text: line, tone: live ? .info : .warning) : nil
        let picture = view.picture.map { picture in
            let output = surface.outputSize
            return WindowGeometry.letterbox(picture: picture, in: output.width, output.height)
        }
        surface.present(picture: picture, dimmed: snapshot.state != .streaming, overlay: overlay)
        view.needsDrawing = false
        view.lastDrawn = now
        if titleDue {
            surface.setTitle("\(line) — \(title)")
            view.lastTitle = now
        }
    }
}

/// The display loop's state between iterations.
private struct WindowView {
    var state = LinkState.connecting
    /// The frame now in the texture (decoded again after a resize) and its JPEG size.
    var shown: ViewFrame?
    var picture: JPEGInfo?
    var showsInfo = true
    var needsDrawing = true
    /// The stream size the window was last sized for; the user's own size wins once they resize.
    var fittedTo: (Int, Int)?
    var userSized = false
    var badFrames = 0
    var failure: String?
    var lastDrawn: UInt64 = 0
    var lastTitle: UInt64 = 0
}
