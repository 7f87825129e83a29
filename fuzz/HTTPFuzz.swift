// HTTPFuzz: a peer's bytes on an HTTP listener — the request-head parser on the whole input, then the same bytes,
// cut into chunks, through a ConnectionMachine driven as StreamServer drives it (every request answered, writes
// taken whole or in part, frames offered while streaming, a clock that moves).
import CamdSystem
import Frames
import Streaming
import Wire

enum HTTPFuzz {
    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        try checkParser(bytes)
        var driver = ConnectionDriver(seed: FuzzRandom.seed(bytes))
        try driver.feed(bytes)
    }

    /// The parser's outcome is consistent with its input, and whatever it says about the input is printable.
    static func checkParser(_ bytes: [UInt8]) throws(FuzzFailure) {
        let limit = HTTPRequestParser.maxHeadBytes
        switch HTTPRequestParser().parse(bytes) {
        case .incomplete:
            try require(bytes.count < limit, "http-bounded", "incomplete after \(bytes.count) bytes")
        case .reject(let status, let reason):
            try checkRejection(status, reason)
        case .notHTTP(let reason):
            try require(bytes.first == 0x16, "http-not-http", "not HTTP without a TLS record's first byte: \(reason)")
            try require(!hasControlCharacter(reason), "http-reject-reason-control-character", reason.debugDescription)
        case .request(let request, let consumed):
            try require(consumed >= 4 && consumed <= min(bytes.count, limit), "http-consumed", "consumed \(consumed) of \(bytes.count)")
            try require(bytes[consumed - 4..<consumed].elementsEqual([0x0D, 0x0A, 0x0D, 0x0A]), "http-consumed",
                        "the head does not end with CRLF CRLF at \(consumed)")
            try checkRequest(request)
            // The head alone parses the same, and one byte less is not yet a head.
            let head = Array(bytes[0..<consumed])
            try require(HTTPRequestParser().parse(head) == .request(request, consumed: consumed), "http-prefix",
                        "the head alone parses differently")
            try require(HTTPRequestParser().parse(Array(head.dropLast())) == .incomplete, "http-prefix",
                        "a head without its last byte is not incomplete")
        }
    }

    static func checkRejection(_ status: Int, _ reason: String) throws(FuzzFailure) {
        try require((400..<600).contains(status), "http-reject-status", "status \(status)")
        try require(!reason.isEmpty, "http-reject-status", "no reason for \(status)")
        // camd logs the reason ("http PEER: 505 unsupported …").
        try require(!hasControlCharacter(reason), "http-reject-reason-control-character", reason.debugDescription)
    }

    /// camd's routes log the path (authentication failures, missing credentials) and echo it in 404 pages.
    static func checkRequest(_ request: HTTPRequest) throws(FuzzFailure) {
        try require(request.path.hasPrefix("/"), "http-request", "path \(request.path.debugDescription)")
        try require(request.version == "HTTP/1.1" || request.version == "HTTP/1.0", "http-request", "version \(request.version.debugDescription)")
        try require(request.headers.count <= HTTPRequestParser.maxHeaders, "http-request", "\(request.headers.count) headers")
        for text in [request.path, request.query] {
            try require(!hasControlCharacter(text), "http-request-control-character", "request target \(text.debugDescription)")
        }
        try checkForwardedFor(request.headers["x-forwarded-for"])
    }

    /// Proxies camd trusts when the fuzzer's requests come from one (trusted_proxies).
    static let trustedProxies = ["127.0.0.0/8", "10.0.0.0/8", "::1", "fd00::/8"].compactMap { try? AddressRange(parsing: $0) }

    /// X-Forwarded-For as camd reads it from a trusted proxy: an address that prints and parses back to itself, or
    /// a short reason without a control character (it is logged).
    static func checkForwardedFor(_ header: String?) throws(FuzzFailure) {
        guard let header else { return }
        switch ForwardedFor.viewer(header, trusted: trustedProxies) {
        case .viewer(let address):
            try require(IPAddress(parsing: address.description) == address, "forwarded-for-address", "\(address) does not parse back")
        case .malformed(let why):
            try require(!hasControlCharacter(why) && why.utf8.count < 400, "forwarded-for-reason", why.debugDescription)
        case .absent:
            try require(false, "forwarded-for-absent", "a header that is there read as absent: \(header.debugDescription)")
        }
    }
}

/// A small deterministic random source, seeded from the input, so that one input always replays the same way.
struct FuzzRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    /// FNV-1a of the bytes.
    static func seed(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    /// xorshift64*: a number in 0..<bound (bound > 0).
    mutating func next(_ bound: Int) -> Int {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return Int((state &* 0x2545_F491_4F6C_DD1D) >> 33) % bound
    }

    /// Cuts `count` bytes into at most `pieces` chunks (each at least one byte).
    mutating func chunks(_ count: Int, pieces: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        while start < count {
            let left = count - start
            let size = ranges.count == pieces - 1 ? left : 1 + next(left)
            ranges.append(start..<start + size)
            start += size
        }
        return ranges
    }
}

/// The driver's part, as StreamServer plays it, with checks on every action the machine asks for.
struct ConnectionDriver {
    var machine: ConnectionMachine
    var random: FuzzRandom
    var now: UInt64 = 1_000_000_000
    var closed = false
    var sequence: UInt64 = 0
    var blocked = false
    /// What the peer sent that is still in the socket: read only as far as the machine's `inputRoom`.
    var inbox: [UInt8] = []

    init(seed: UInt64) {
        random = FuzzRandom(seed: seed)
        machine = ConnectionMachine(proto: .http, limits: ConnectionLimits(), now: now)
    }

    mutating func feed(_ bytes: [UInt8]) throws(FuzzFailure) {
        try run()
        for range in random.chunks(bytes.count, pieces: 1 + random.next(12)) {
            now += UInt64(random.next(50)) * 1_000_000
            if blocked && random.next(2) == 0 {
                blocked = false
                machine.writable(now: now, unsent: random.next(70_000))
            }
            inbox += bytes[range]
            try deliver()
            if random.next(4) == 0 {
                machine.tick(now: now, unsent: random.next(70_000))
                try run()
            }
        }
        // The peer stops sending; the socket drains (turns given back, input read) until all it sent is read,
        // then the end of input; long after, every timeout has passed.
        var turns = 0
        while !machine.isClosed, !inbox.isEmpty || blocked || machine.yielding {
            turns += 1
            try require(turns < 10_000, "connection-settles", "input never read or turns never given back")
            blocked = false
            machine.writable(now: now, unsent: 0)
            try run()
            try deliver()
        }
        if !machine.isClosed {
            machine.receivedEnd()
            try run()
        }
        while !machine.isClosed, blocked || machine.yielding {
            turns += 1
            try require(turns < 10_000, "connection-settles", "turns never given back after the end of input")
            blocked = false
            machine.writable(now: now, unsent: 0)
            try run()
        }
        now += 60_000_000_000
        machine.tick(now: now, unsent: 0)
        try run()
        try require(machine.isClosed || machine.isStreaming, "connection-ends", "neither closed nor streaming after the end of input")
        try require(closed == machine.isClosed, "connection-ends", "closed without a .close action, or the reverse")
    }

    /// Reads what the socket holds, at most 4096 bytes at a time and never more than `inputRoom`, as StreamServer does.
    mutating func deliver() throws(FuzzFailure) {
        while !machine.isClosed, !inbox.isEmpty {
            let room = min(4096, machine.inputRoom)
            guard room > 0 else { return }
            let chunk = Array(inbox.prefix(room))
            inbox.removeFirst(chunk.count)
            machine.received(chunk, now: now)
            try run()
        }
    }

    /// Carries out every action until there is none; the loop must end.
    mutating func run() throws(FuzzFailure) {
        var steps = 0
        while let action = machine.nextAction() {
            steps += 1
            try require(steps < 10_000, "connection-settles", "the action loop did not end")
            try require(!closed, "connection-action-after-close", "\(action)")
            try require(machine.requestBuffer.count <= ConnectionMachine.requestBufferLimit, "connection-request-buffer",
                        "\(machine.requestBuffer.count) bytes buffered")
            switch action {
            case .write(let outgoing):
                let total = outgoing.header.count + outgoing.payload.count + outgoing.trailer.count
                try require(outgoing.offset >= 0 && outgoing.offset < total, "connection-write", "offset \(outgoing.offset) of \(total)")
                let left = total - outgoing.offset
                // The socket takes it all, part of it, or nothing (then waits for EPOLLOUT).
                switch random.next(4) {
                case 0:
                    machine.writeWouldBlock()
                    blocked = true
                case 1: machine.wrote(1 + random.next(left), now: now)
                default: machine.wrote(left, now: now)
                }
            case .route(let request):
                try HTTPFuzz.checkRequest(request)
                machine.respond(answer(request), now: now)
            case .offerFrame:
                sequence += 1
                let frame = Frame(sequence: sequence, timestampNanos: now, width: 2, height: 2, payload: [0xFF, 0xD8, 0xFF, 0xD9])
                let wire = WireFrame(frame: frame, header: HTTPMessages.partHeader(frame), trailer: HTTPMessages.crlf)
                machine.frameAvailable(wire, now: now, unsent: random.next(70_000))
            case .setLowWatermark(let bytes):
                try require(bytes >= 0, "connection-low-watermark", "\(bytes)")
            case .setInterest:
                break
            case .note(let note):
                if case .rejected(let status, let reason) = note { try HTTPFuzz.checkRejection(status, reason) }
                if case .notHTTP(let reason) = note {
                    try require(!hasControlCharacter(reason), "http-reject-reason-control-character", reason.debugDescription)
                }
            case .close(let why):
                try require(!hasControlCharacter(why.reason), "connection-close-reason", why.reason.debugDescription)
                try require(machine.isClosed, "connection-ends", ".close while the machine is not closed")
                closed = true
            }
        }
    }

    /// What camd's routes answer, in shape: /stream streams, the rest is a small page.
    func answer(_ request: HTTPRequest) -> HTTPResponse {
        let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n".utf8)
        if request.path == "/stream" { return HTTPResponse(head: HTTPMessages.streamHead(), body: [], then: .stream) }
        return HTTPResponse(head: head, body: request.method == .head ? [] : Array("ok".utf8), then: request.keepAlive ? .nextRequest : .close)
    }
}
