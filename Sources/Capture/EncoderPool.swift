// EncoderPool: camd's JPEG encodes of raw camera pictures on worker threads (ustreamer's encoder workers), so a
// high resolution or rate can use more than one core, while the capture thread only dequeues, converts and
// requeues. Latest wins at the input; frames come out in capture order.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import JPEG
import Locking

/// How many encoder workers `encode_workers = "auto"` means.
public enum EncodeWorkers {
    /// One per online CPU, at most 4: a 1-core box gets 1 (a second thread would only take turns with the first), a
    /// 2-core box 2; beyond 4 a camera box's other work (viewers, the reactor) deserves the cores.
    public static var automatic: Int { min(max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1), 4) }

    /// The worker count for an `encode_workers` value (0 = "auto").
    public static func count(configured: Int) -> Int { configured == 0 ? automatic : configured }
}

/// What a worker encodes with. Each worker has its own (libturbojpeg handles are not shared between threads).
public protocol PictureEncoder: AnyObject {
    func encode(_ image: PlanarImage, quality: Int) throws -> [UInt8]
}

extension JPEGEncoder: PictureEncoder {
    /// Quality travels with each picture, so a `quality` change reaches every worker with the next frame.
    public func encode(_ image: PlanarImage, quality: Int) throws -> [UInt8] {
        self.quality = quality
        return try encode(image)
    }
}

/// What became of one submitted item, handed to `publish` in submission order.
public enum EncodeOutcome: Sendable {
    /// Submitted ready (a JPEG passed through, a placeholder): nothing was encoded.
    case ready
    /// Encoded by a worker, in `nanos`.
    case encoded(jpeg: [UInt8], nanos: UInt64)
    /// The encode failed; nothing is to be published for it.
    case failed(String)
}

/// N worker threads, each with its own encoder. The capture thread submits every item it numbers — pictures to
/// encode and ready frames alike — and `publish` is called once per item in the order they were submitted, one call
/// at a time (on whichever thread completed the next item in line: a worker, or the capture thread itself for a
/// ready item with nothing ahead of it). A frame a worker finishes early waits for the earlier frames still being
/// encoded; it is never published out of order, and never dropped for being early.
///
/// Latest wins at the input: a picture submitted while every worker is busy waits in the one waiting slot,
/// replacing (and dropping) the picture that waited there. So the capture thread never waits for an encoder, and
/// at most `workers` + 1 pictures are ever held.
public final class EncoderPool<Item: Sendable>: Sendable {
    private struct Job: Sendable {
        let ticket: UInt64
        let item: Item
        let image: PlanarImage
        let quality: Int
    }

    private enum Done: Sendable {
        case publish(Item, EncodeOutcome)
        /// Dropped at the input (latest wins): its place in line is passed over.
        case skipped
    }

    /// A worker's next move.
    private enum Next { case stop, wait, job(Job) }
    /// The publisher's next move: publish an item, or leave (saying whether nothing is outstanding any more).
    private enum Step { case leave(settled: Bool), publish(Item, EncodeOutcome) }

    private struct State: Sendable {
        var nextTicket: UInt64 = 0
        var nextToPublish: UInt64 = 0
        /// The latest-wins slot: a picture waiting for a worker.
        var waiting: Job?
        /// A job handed straight to an idle worker, by worker.
        var assigned: [Job?]
        /// A worker with nothing to do (it looks at its `assigned` slot before it waits, so a job handed to it
        /// before its thread even ran is not missed).
        var idle: [Bool]
        /// Finished items waiting for the ones before them, by ticket.
        var done: [UInt64: Done] = [:]
        /// Some thread is calling `publish` (at most one at a time).
        var publishing = false
        /// Submitted and neither published nor dropped yet.
        var outstanding = 0
        var stopping = false
        var dropped: UInt64 = 0

        init(workers: Int) {
            assigned = Array(repeating: nil, count: workers)
            idle = Array(repeating: true, count: workers)
        }
    }

    public let workerCount: Int
    private let state: LockedValue<State>
    /// One per worker: wakes it for a job or for stop.
    private let wakeups: [EventCounter]
    /// Signalled when nothing is outstanding (for `finish`).
    private let settled: EventCounter
    private let threads = LockedValue<[OSThread]>([])
    private let publish: @Sendable (Item, EncodeOutcome) -> Void

    /// Starts `workers` threads, each with an encoder from `makeEncoder` (made on its thread). `publish` receives each
    /// item in submission order; it must not call back into the pool.
    public init(workers: Int, makeEncoder: @escaping @Sendable () throws -> sending any PictureEncoder,
                publish: @escaping @Sendable (Item, EncodeOutcome) -> Void) throws(SystemError) {
        precondition(workers >= 1, "an encoder pool needs a worker")
        workerCount = workers
        state = LockedValue(State(workers: workers))
        var wakeups: [EventCounter] = []
        for _ in 0..<workers { wakeups.append(try EventCounter()) }
        self.wakeups = wakeups
        settled = try EventCounter()
        self.publish = publish
        for index in 0..<workers {
            do {
                let thread = try OSThread.spawn(name: "camd-encode-\(index)") { [self] in
                    let encoder: (any PictureEncoder)?
                    let problem: String
                    do {
                        encoder = try makeEncoder()
                        problem = ""
                    } catch {
                        encoder = nil
                        problem = "no encoder: \(error)"
                    }
                    work(index: index, encoder: encoder, problem: problem)
                }
                threads.withLock { $0.append(thread) }
            } catch {
                stop()
                throw error
            }
        }
    }

    /// Pictures dropped at the input because every worker was busy (latest wins), since start.
    public var dropped: UInt64 { state.withLock { $0.dropped } }

    /// `stop` has begun: nothing more is published.
    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Workers encoding now.
    public var busyWorkers: Int { state.withLock { s in s.idle.filter { !$0 }.count } }

    /// Hands `item` on. With an `image` it is encoded by the next free worker (or waits in the latest-wins slot);
    /// without one it is ready and is published as soon as everything submitted before it is. Returns how many
    /// waiting pictures this submission dropped (0 or 1). Call from one thread (the capture thread).
    @discardableResult
    public func submit(_ item: Item, encoding image: PlanarImage? = nil, quality: Int = 80) -> Int {
        var wake: Int?
        let droppedNow = state.withLock { s -> Int in
            guard !s.stopping else { return 0 }
            let ticket = s.nextTicket
            s.nextTicket += 1
            s.outstanding += 1
            guard let image else {
                s.done[ticket] = .publish(item, .ready)
                return 0
            }
            let job = Job(ticket: ticket, item: item, image: image, quality: quality)
            if let free = s.idle.firstIndex(of: true) {
                s.idle[free] = false
                s.assigned[free] = job
                wake = free
                return 0
            }
            var replaced = 0
            if let older = s.waiting {
                s.done[older.ticket] = .skipped
                s.dropped += 1
                replaced = 1
            }
            s.waiting = job
            return replaced
        }
        if let wake { wakeups[wake].signal() }
        // A ready item, or a dropped one that was next in line, may let items through now.
        if image == nil || droppedNow > 0 { publishInOrder() }
        return droppedNow
    }

    /// Waits (at most `timeoutMilliseconds`) until everything submitted has been published or dropped. Returns false
    /// if the time ran out first.
    @discardableResult
    public func finish(timeoutMilliseconds: Int32 = 2000) -> Bool {
        let deadline = Clock.monotonicNanos() + UInt64(timeoutMilliseconds) * 1_000_000
        while true {
            if state.withLock({ $0.outstanding == 0 || $0.stopping }) { return true }
            let now = Clock.monotonicNanos()
            guard now < deadline else { return false }
            _ = try? Poll.wait(settled.fd, for: .readable, timeoutMilliseconds: Int32(min((deadline - now) / 1_000_000 + 1, 250)))
            settled.drain()
        }
    }

    /// Stops the workers and waits for them. Pictures waiting or being encoded are discarded: nothing is published
    /// once `stop` has returned (a publish already under way finishes first). Idempotent.
    public func stop() {
        state.withLock { s in
            s.stopping = true
            s.waiting = nil
            s.assigned = Array(repeating: nil, count: s.assigned.count)
            s.done = [:]
        }
        for wakeup in wakeups { wakeup.signal() }
        settled.signal()
        let joining = threads.withLock { t -> [OSThread] in defer { t = [] }; return t }
        for thread in joining { thread.join() }
    }

    private func work(index: Int, encoder: (any PictureEncoder)?, problem: String) {
        while true {
            let next = state.withLock { s -> Next in
                if s.stopping { return .stop }
                if let job = s.assigned[index] {
                    s.assigned[index] = nil
                    return .job(job)
                }
                if let job = s.waiting {
                    s.waiting = nil
                    return .job(job)
                }
                s.idle[index] = true
                return .wait
            }
            switch next {
            case .stop:
                return
            case .wait:
                // The eventfd stays readable from a signal until drained, so no wake-up is lost; the bound is only a
                // backstop, long enough that idle workers cost an idle camd (or a VM under TCG) next to nothing.
                _ = try? Poll.wait(wakeups[index].fd, for: .readable, timeoutMilliseconds: 5000)
                wakeups[index].drain()
            case .job(let job):
                let outcome: EncodeOutcome
                if let encoder {
                    let started = Clock.monotonicNanos()
                    do {
                        let jpeg = try encoder.encode(job.image, quality: job.quality)
                        outcome = .encoded(jpeg: jpeg, nanos: Clock.monotonicNanos() - started)
                    } catch {
                        outcome = .failed("JPEG encode of a \(job.image.width)x\(job.image.height) picture failed: \(error)")
                    }
                } else {
                    outcome = .failed(problem)
                }
                let stopped = state.withLock { s -> Bool in
                    guard !s.stopping else { return true }
                    s.done[job.ticket] = .publish(job.item, outcome)
                    return false
                }
                if stopped { return }
                publishInOrder()
            }
        }
    }

    /// Publishes finished items while the next one in line is finished, unless another thread is already doing so
    /// (it will see this thread's item: the check for the next item and the release of the publisher's role happen
    /// under one lock). An item counts as outstanding until its `publish` call has returned.
    private func publishInOrder() {
        var claimed = false
        var published = false
        while true {
            let step = state.withLock { s -> Step in
                if published {
                    s.outstanding -= 1
                    published = false
                }
                if !claimed {
                    guard !s.publishing else { return .leave(settled: false) }
                    s.publishing = true
                    claimed = true
                }
                while !s.stopping, let done = s.done.removeValue(forKey: s.nextToPublish) {
                    s.nextToPublish += 1
                    guard case .publish(let item, let outcome) = done else {
                        s.outstanding -= 1
                        continue
                    }
                    return .publish(item, outcome)
                }
                s.publishing = false
                return .leave(settled: s.outstanding == 0)
            }
            switch step {
            case .leave(let isSettled):
                if isSettled { settled.signal() }
                return
            case .publish(let item, let outcome):
                publish(item, outcome)
                published = true
            }
        }
    }
}
