// SignalPipe: signals as bytes on a pipe (the self-pipe trick), so the display's poll loop handles SIGINT,
// SIGTERM, SIGHUP and SIGWINCH like any other input and can restore the terminal before leaving.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem

/// The write end, for the async-signal-safe handler (set once, before any handler is installed).
nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1

final class SignalPipe {
    let readFD: Int32
    private let signals: [Int32]

    init(_ signals: [Int32]) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        _ = try syscall("pipe") { pipe(&fds) }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readFD = fds[0]
        signalPipeWriteFD = fds[1]
        self.signals = signals
        for signo in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signo in
                var byte = UInt8(truncatingIfNeeded: signo)
                _ = write(signalPipeWriteFD, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigaction(signo, &action, nil)
        }
    }

    /// The signals that arrived since the last call.
    func drain() -> [Int32] {
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = bytes.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
        return n > 0 ? bytes.prefix(n).map { Int32($0) } : []
    }

    /// Default dispositions again (the pipe stays open: a late signal must not write to a reused fd).
    func restore() {
        for signo in signals { signal(signo, SIG_DFL) }
    }
}
