// NotifySocket: the test's stand-in for systemd — a datagram socket at NOTIFY_SOCKET that records every
// sd_notify message camd sends, with its arrival time.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Locking
import Synchronization

public final class NotifySocket: Sendable {
    public let path: String
    private let fd: Int32
    private let inbox = Inbox()
    private let thread: OSThread

    /// What the receiving thread shares with the test; the thread holds this, not the NotifySocket, so the socket's
    /// deinit runs and stops it.
    private final class Inbox: Sendable {
        let received = LockedValue<[(at: UInt64, message: String)]>([])
        let stopping = Atomic<Bool>(false)
    }

    public init() throws {
        path = NSTemporaryDirectory() + "notify-\(UUID().uuidString.prefix(8))"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_UNIX, SOCK_DGRAM)", errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { [fd] in
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw SystemError("bind \(path)", errno: errno) }
        // The thread looks at `stopping` at least every 100 ms.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        thread = try OSThread.spawn(name: "notify-socket") { [fd, inbox] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !inbox.stopping.load(ordering: .relaxed) {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    let message = String(decoding: buffer[0..<n], as: UTF8.self)
                    inbox.received.withLock { $0.append((Clock.monotonicNanos(), message)) }
                }
            }
        }
    }

    /// Every message so far, oldest first.
    public var messages: [(at: UInt64, message: String)] { inbox.received.withLock { $0 } }

    /// Waits until a message containing `text` arrives (after `index` messages); returns its index.
    public func wait(for text: String, after index: Int = 0, timeout: Double) -> Int? {
        var found: Int?
        _ = waitUntil(timeout: timeout) {
            let all = messages
            found = all.indices.first { $0 >= index && all[$0].message.contains(text) }
            return found != nil
        }
        return found
    }

    deinit {
        inbox.stopping.store(true, ordering: .relaxed)
        thread.join()
        close(fd)
        unlink(path)
    }
}
