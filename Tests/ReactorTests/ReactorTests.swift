// The reactor on real descriptors: sockets, eventfd wake-ups from another thread, timers, stale ids.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Reactor
import Synchronization
import Testing

private func socketPair() -> (Descriptor, Descriptor) {
    var fds: [Int32] = [0, 0]
    let rc = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds)
    precondition(rc == 0)
    return (Descriptor(taking: fds[0]), Descriptor(taking: fds[1]))
}

struct ReactorTests {
    @Test func readableSocketIsReported() throws {
        let reactor = try Reactor()
        let (a, b) = socketPair()
        defer { a.close(); b.close() }
        var seen: Events = []
        let id = try reactor.register(a, interest: .read) { seen = $0 }
        _ = b.withRawValue { write($0, "x", 1) }
        try reactor.runOnce(timeoutMilliseconds: 1000)
        #expect(seen.contains(.readable))
        reactor.deregister(id)
    }

    @Test func writeInterestCanBeToggled() throws {
        let reactor = try Reactor()
        let (a, b) = socketPair()
        defer { a.close(); b.close() }
        var count = 0
        let id = try reactor.register(a, interest: .read) { if $0.contains(.writable) { count += 1 } }
        try reactor.runOnce(timeoutMilliseconds: 50)
        #expect(count == 0)
        try reactor.reregister(id, interest: [.read, .write])
        try reactor.runOnce(timeoutMilliseconds: 1000)
        #expect(count == 1)
        reactor.deregister(id)
    }

    @Test func wakeupFromAnotherThreadRunsTheHandlerOnTheLoop() throws {
        let reactor = try Reactor()
        var woken = 0
        let wakeup = try reactor.makeWakeup { woken += 1 }
        let thread = try OSThread.spawn(name: "waker") { wakeup.signal(); wakeup.signal() }
        thread.join()
        try reactor.runOnce(timeoutMilliseconds: 1000)
        #expect(woken == 1, "two signals before the loop ran coalesce into one wake-up")
    }

    @Test func timerFiresPeriodically() throws {
        let reactor = try Reactor()
        var fired = 0
        // unowned: the reactor keeps its handlers, so a strong capture is a cycle that leaks the reactor (LSan saw it).
        try reactor.addTimer(intervalNanos: 10_000_000) { [unowned reactor] in
            fired += 1
            if fired == 3 { reactor.stop() }
        }
        let start = Clock.monotonicNanos()
        try reactor.run()
        #expect(fired == 3)
        #expect(Clock.monotonicNanos() - start >= 25_000_000)
    }

    @Test func eventsForADeregisteredDescriptorAreNotDelivered() throws {
        let reactor = try Reactor()
        let (a, b) = socketPair()
        let (c, d) = socketPair()
        defer { a.close(); b.close(); c.close(); d.close() }
        // Both become readable in the same batch, and whichever handler runs first removes the other: epoll's
        // ready order does not matter, exactly one handler may run.
        var calls: [String] = []
        var aID: RegistrationID?
        var cID: RegistrationID?
        aID = try reactor.register(a, interest: .read) { [unowned reactor] _ in
            calls.append("a")
            if let cID { reactor.deregister(cID) }
        }
        cID = try reactor.register(c, interest: .read) { [unowned reactor] _ in
            calls.append("c")
            if let aID { reactor.deregister(aID) }
        }
        _ = b.withRawValue { write($0, "x", 1) }
        _ = d.withRawValue { write($0, "x", 1) }
        try reactor.runOnce(timeoutMilliseconds: 1000)
        #expect(calls.count == 1, "handlers run: \(calls); the second was deregistered by the first")
        // The one left is still registered and its descriptor still readable; the removed one stays silent.
        try reactor.runOnce(timeoutMilliseconds: 1000)
        #expect(calls.count == 2 && calls[0] == calls[1], "handlers run: \(calls)")
    }

    @Test func signalsArriveThroughTheLoop() throws {
        let reactor = try Reactor()
        var received: Int32 = 0
        try reactor.watchSignals([SIGUSR1]) { [unowned reactor] in received = $0; reactor.stop() }
        raise(SIGUSR1)   // to this thread, which blocks it: only the signalfd sees it
        try reactor.runOnce(timeoutMilliseconds: 1000)
        #expect(received == SIGUSR1)
    }
}
