// Reactor: one thread, one epoll set. It knows file descriptors and callbacks, nothing about cameras
// or protocols. Six verbs: register, reregister, deregister, run (wait + dispatch), wakeup, close.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
internal import CCamdLinux

/// What a registration wants to hear about.
public struct Interest: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let read = Interest(rawValue: 1)
    public static let write = Interest(rawValue: 2)

    /// EPOLLHUP and EPOLLERR are always reported. EPOLLRDHUP is not asked for: a peer that only
    /// shuts down its sending side may still want to receive, and a read of 0 tells us the same.
    var epollMask: UInt32 {
        var mask: UInt32 = 0
        if contains(.read) { mask |= CCAMD_EPOLLIN }
        if contains(.write) { mask |= CCAMD_EPOLLOUT }
        return mask
    }
}

/// What happened to a registered descriptor.
public struct Events: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = Events(rawValue: 1)
    public static let writable = Events(rawValue: 2)
    /// The peer hung up (EPOLLHUP/EPOLLRDHUP).
    public static let hangup = Events(rawValue: 4)
    public static let error = Events(rawValue: 8)

    init(epoll mask: UInt32) {
        var events: Events = []
        if mask & CCAMD_EPOLLIN != 0 { events.insert(.readable) }
        if mask & CCAMD_EPOLLOUT != 0 { events.insert(.writable) }
        if mask & (CCAMD_EPOLLHUP | CCAMD_EPOLLRDHUP) != 0 { events.insert(.hangup) }
        if mask & CCAMD_EPOLLERR != 0 { events.insert(.error) }
        self = events
    }
}

/// Identifies one registration. Ids are never reused, so an event for a closed-and-reused fd number
/// that was queued before the close is recognised as stale and dropped.
public struct RegistrationID: Hashable, Sendable {
    let value: UInt64
}

public final class Reactor {
    public typealias Handler = (Events) -> Void

    private struct Entry {
        let fd: Int32
        let handler: Handler
    }

    private let epoll: Descriptor
    private var entries: [UInt64: Entry] = [:]
    private var nextID: UInt64 = 1
    private var running = false
    /// Descriptors the reactor created itself (eventfd, timerfd, signalfd), closed with it.
    private var owned: [Descriptor] = []
    /// The one event buffer: allocated here, freed in deinit.
    private let events: UnsafeMutablePointer<CCamdEpollEvent>
    private static let maxEvents = 256

    public init() throws(SystemError) {
        epoll = Descriptor(taking: try syscall("epoll_create1") { ccamd_epoll_create() })
        events = .allocate(capacity: Self.maxEvents)
    }

    deinit {
        events.deallocate()
        for descriptor in owned { descriptor.close() }
        epoll.close()
    }

    @discardableResult
    public func register(_ descriptor: Descriptor, interest: Interest, handler: @escaping Handler) throws(SystemError) -> RegistrationID {
        let id = nextID
        nextID += 1
        let fd = descriptor.number
        _ = try epoll.withRawValue { (ep) throws(SystemError) in
            try syscall("epoll_ctl(ADD)") { ccamd_epoll_add(ep, fd, interest.epollMask, id) }
        }
        entries[id] = Entry(fd: fd, handler: handler)
        return RegistrationID(value: id)
    }

    public func reregister(_ id: RegistrationID, interest: Interest) throws(SystemError) {
        guard let entry = entries[id.value] else { return }
        _ = try epoll.withRawValue { (ep) throws(SystemError) in
            try syscall("epoll_ctl(MOD)") { ccamd_epoll_modify(ep, entry.fd, interest.epollMask, id.value) }
        }
    }

    /// Removes a registration. Call it before closing the descriptor.
    public func deregister(_ id: RegistrationID) {
        guard let entry = entries.removeValue(forKey: id.value) else { return }
        // ENOENT/EBADF here would mean the fd was already closed; the entry is gone either way.
        _ = epoll.withRawValue { ep in ccamd_epoll_delete(ep, entry.fd) }
    }

    /// Runs until `stop()` is called from a handler.
    public func run() throws(SystemError) {
        running = true
        while running {
            try runOnce(timeoutMilliseconds: -1)
        }
    }

    /// Waits for events once and dispatches them. EINTR counts as zero events.
    public func runOnce(timeoutMilliseconds: Int32) throws(SystemError) {
        let count = epoll.withRawValue { ep in ccamd_epoll_wait(ep, events, Int32(Self.maxEvents), timeoutMilliseconds) }
        if count < 0 {
            let err = errno
            if err == EINTR { return }
            throw SystemError("epoll_wait", errno: err)
        }
        for index in 0..<Int(count) {
            let event = events[index]
            // A handler earlier in this batch may have deregistered this one: skip stale ids.
            guard let entry = entries[event.data] else { continue }
            entry.handler(Events(epoll: event.events))
        }
    }

    public func stop() { running = false }

    /// An eventfd that other threads signal; `handler` runs on the reactor thread, once per batch of signals.
    public func makeWakeup(_ handler: @escaping () -> Void) throws(SystemError) -> Wakeup {
        let fd = try watchCounter(Descriptor(taking: try syscall("eventfd") { ccamd_eventfd() }), handler)
        return Wakeup(fd: fd)
    }

    /// A periodic monotonic timer. Missed expirations are coalesced into one call.
    public func addTimer(intervalNanos: Int64, _ handler: @escaping () -> Void) throws(SystemError) {
        _ = try watchCounter(Descriptor(taking: try syscall("timerfd_create") { ccamd_timerfd(intervalNanos) }), handler)
    }

    /// Owns and watches an eventfd or timerfd: each wake-up reads (resets) its 8-byte counter, then calls `handler`.
    private func watchCounter(_ fd: Descriptor, _ handler: @escaping () -> Void) throws(SystemError) -> Int32 {
        owned.append(fd)
        let raw = fd.number
        try register(fd, interest: .read) { _ in
            var counter: UInt64 = 0
            _ = read(raw, &counter, 8)
            handler()
        }
        return raw
    }

    /// Blocks `signals` for this thread and delivers them through a signalfd.
    /// Call before starting other threads so they inherit the blocked mask.
    public func watchSignals(_ signals: [Int32], _ handler: @escaping (Int32) -> Void) throws(SystemError) {
        let fd = Descriptor(taking: try syscall("signalfd") { ccamd_signalfd(signals, Int32(signals.count)) })
        owned.append(fd)
        let raw = fd.number
        try register(fd, interest: .read) { _ in
            while true {
                let signal = ccamd_signalfd_read(raw)
                if signal < 0 { break }
                handler(signal)
            }
        }
    }
}

@available(*, unavailable)
extension Reactor: Sendable {}

/// Wakes the reactor from another thread. The eventfd belongs to the reactor; a Wakeup must not be
/// signalled after the reactor is gone (camd stops the capture thread first).
public final class Wakeup: Sendable {
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }

    public func signal() {
        var one: UInt64 = 1
        // EAGAIN means the counter is already non-zero: the reactor will wake anyway.
        _ = write(fd, &one, 8)
    }
}

/// Signals no process should die of: a write to a reset socket must be an error, not SIGPIPE.
public enum ProcessSignals {
    public static func ignoreSIGPIPE() {
        signal(SIGPIPE, SIG_IGN)
    }
}
