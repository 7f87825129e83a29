// AccessUnitRing: the encoded access units on their way from the H.264 encoder's thread to the reactor. Unlike the
// frame ring (latest wins), H.264 viewers need every unit from a keyframe on, in order: the reactor takes all units
// published since the ones it has, and learns when some were overwritten before it came (then every viewer waits
// for the next keyframe rather than decode a picture whose reference it never got).
import Locking

public final class AccessUnitRing: Sendable {
    /// One published unit and its number in this ring (1, 2, 3, … since the ring was made).
    public struct Entry: Sendable {
        public let number: UInt64
        public let unit: EncodedAccessUnit
    }

    /// What `units(after:)` found: the units after the caller's number, oldest first, and whether some between
    /// that number and the oldest of them were already overwritten.
    public struct Batch: Sendable {
        public let entries: [Entry]
        public let missed: Bool
    }

    /// What a path's media description needs: the parameter sets in force and the picture size and rate.
    public struct StreamInfo: Sendable, Equatable {
        public let parameterSets: H264ParameterSets
        public let width: Int
        public let height: Int
        public let fps: Double
        public init(parameterSets: H264ParameterSets, width: Int, height: Int, fps: Double) {
            self.parameterSets = parameterSets
            self.width = width
            self.height = height
            self.fps = fps
        }
    }

    private struct State {
        var slots: [Entry?]
        var published: UInt64 = 0
        var info: StreamInfo?
    }

    public let capacity: Int
    private let state: LockedValue<State>

    public init(capacity: Int = 64) {
        precondition(capacity >= 1, "an AccessUnitRing needs at least one slot")
        self.capacity = capacity
        state = LockedValue(State(slots: Array(repeating: nil, count: capacity)))
    }

    /// Publishes `unit` (encoder thread); `info` is the stream it belongs to (its parameter sets, size, rate).
    public func publish(_ unit: EncodedAccessUnit, info: StreamInfo?) {
        state.withLock { state in
            state.published += 1
            state.slots[Int(state.published % UInt64(capacity))] = Entry(number: state.published, unit: unit)
            if let info { state.info = info }
        }
    }

    /// The units published after number `after` (0: from the start), oldest first.
    public func units(after: UInt64) -> Batch {
        state.withLock { state in
            guard state.published > after else { return Batch(entries: [], missed: false) }
            let oldest = state.published >= UInt64(capacity) ? state.published - UInt64(capacity) + 1 : 1
            let first = max(after + 1, oldest)
            var entries: [Entry] = []
            entries.reserveCapacity(Int(state.published - first + 1))
            for number in first...state.published {
                if let entry = state.slots[Int(number % UInt64(capacity))], entry.number == number { entries.append(entry) }
            }
            return Batch(entries: entries, missed: first > after + 1)
        }
    }

    /// The number of the newest unit (0: none yet).
    public var publishedCount: UInt64 { state.withLock { $0.published } }

    /// The stream the newest units belong to (nil before the first unit with parameter sets).
    public var info: StreamInfo? { state.withLock { $0.info } }

    /// Forgets the stream description (the encoder stopped and may come back with other settings). Numbers go on.
    public func resetInfo() { state.withLock { $0.info = nil } }
}
