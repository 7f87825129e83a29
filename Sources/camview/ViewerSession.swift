// ViewerSession: one camview run — the mailbox, the reader thread feeding it, and when to stop.
import CamdSystem
import Viewer

final class ViewerSession {
    let url: StreamURL
    let mailbox: FrameMailbox
    private let reader: StreamReader
    /// --duration's end. (--frames is the reader's: it ends the stream after exactly that many frames.)
    private let deadline: UInt64?
    let started = Clock.monotonicNanos()

    init(url: StreamURL, options: ReaderOptions, recorder: MJPEGRecorder?, duration: Double?) throws(SystemError) {
        self.url = url
        mailbox = try FrameMailbox()
        reader = try StreamReader(url: url, options: options, mailbox: mailbox, recorder: recorder)
        deadline = duration.map { Clock.monotonicNanos() + UInt64($0 * 1e9) }
        try reader.start()
    }

    /// The fd a display polls: readable when a frame or a state change is waiting.
    var wakeFD: Int32 { mailbox.wakeFD }

    /// True once --duration has passed.
    var durationReached: Bool {
        guard let deadline else { return false }
        return Clock.monotonicNanos() >= deadline
    }

    /// Milliseconds until the --duration deadline (for poll timeouts), or `fallback`.
    func millisUntilDeadline(fallback: Int32) -> Int32 {
        guard let deadline else { return fallback }
        let now = Clock.monotonicNanos()
        return now >= deadline ? 0 : min(fallback, Int32((deadline - now) / 1_000_000) + 1)
    }

    /// Stops and joins the reader thread (idempotent).
    func stop() {
        reader.stop()
        reader.join()
    }

    var elapsedSeconds: Double { Double(Clock.monotonicNanos() - started) / 1e9 }
}
