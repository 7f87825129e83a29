// RTSPViewer: camload's RTSP 1.0 client for --protocol rtsp (issue 16's fan-out benchmark). OPTIONS, DESCRIBE,
// SETUP (RTP/AVP/TCP interleaved), PLAY, one request at a time; then it only reads: '$' frames are parsed in
// place (4-byte frame header + the first bytes of each packet), payloads are skipped, nothing is copied. RTP: an
// access unit ends at the marker bit (or when the timestamp changes); its first packet's receive time is kept.
// RTCP sender reports give the NTP (wall clock) <-> RTP mapping, so each access unit's capture time is known when
// the server maps RTP time to capture time (camd does). No keep-alive: runs are short.

struct RTSPViewer {
    enum Stage: String { case options, describe, setup, play, streaming }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// One complete access unit as received.
    struct AccessUnit {
        /// CLOCK_REALTIME when the read holding its first RTP packet returned.
        var firstPacketRealtime: UInt64
        var rtpTimestamp: UInt32
        /// RTP payload bytes (packet minus the fixed header and CSRCs) of all its packets.
        var payloadBytes: Int
        /// Capture wall clock (ns) from the latest sender report, once one has arrived.
        var captureNanos: UInt64?
        /// RTP time since the first access unit, in frame intervals (rounded): gaps are skipped frames.
        var frameIndex: UInt64
    }

    let url: String
    let fps: Double
    private(set) var stage = Stage.options
    private var text: [UInt8] = []
    private var cseq = 0
    private var base: String
    private var controlURL = ""
    private var session = ""
    private var rtpChannel: UInt8 = 0
    private var clockRate: Double = 90_000

    // Interleaved framing: the head of the packet in progress when it straddles reads, then bytes to skip.
    private var head: [UInt8] = []
    private var headTarget = 0
    private var skip = 0

    private var auOpen = false
    private var auFirst: UInt64 = 0
    private var auTimestamp: UInt32 = 0
    private var auBytes = 0
    private var srUnixNanos: Int64?
    private var srRTP: UInt32 = 0
    private var lastTimestamp: UInt32?
    private var extendedTimestamp: Int64 = 0
    private(set) var senderReports = 0
    private(set) var rtpPackets = 0

    /// Bytes of a packet looked at: RTP's fixed header (12) + CSRCs, or RTCP SR up to its RTP timestamp (20).
    private static let headBytes = 28

    init(url: String, fps: Double) {
        self.url = url
        self.fps = fps
        base = url
        head.reserveCapacity(4 + Self.headBytes)
    }

    /// The first request, to send once connected.
    mutating func start() -> [UInt8] { request("OPTIONS", url) }

    private mutating func request(_ method: String, _ target: String, _ headers: [String] = []) -> [UInt8] {
        cseq += 1
        var lines = ["\(method) \(target) RTSP/1.0", "CSeq: \(cseq)", "User-Agent: camload"]
        if !session.isEmpty { lines.append("Session: \(session)") }
        lines += headers
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// Consumes bytes read from the socket; returns the next request to send, if one is due now.
    mutating func consume(_ bytes: UnsafeRawBufferPointer, realtime: UInt64,
                          onAccessUnit: (AccessUnit) -> Void) throws(Failure) -> [UInt8]? {
        if stage == .streaming {
            try interleaved(bytes, realtime: realtime, onAccessUnit: onAccessUnit)
            return nil
        }
        text.append(contentsOf: bytes)
        var next: [UInt8]?
        while stage != .streaming && !text.isEmpty {
            // gst-rtsp-server may send RTP before its PLAY response: interleaved frames between responses.
            if text[0] == 0x24 {
                guard text.count >= 4 else { return next }
                let total = 4 + (Int(text[2]) << 8 | Int(text[3]))
                guard text.count >= total else { return next }
                try feed(text[0..<total], realtime: realtime, onAccessUnit: onAccessUnit)
                text.removeFirst(total)
                continue
            }
            // The response may be followed by a read's worth of RTP (hundreds of KB when the client is busy).
            guard let end = headerEnd() else {
                guard text.count <= 65_536 else { throw Failure("RTSP response head longer than 64 KiB") }
                return next
            }
            let headerText = String(decoding: text[0..<end], as: UTF8.self)
            var lines = headerText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
            let status = lines.removeFirst()
            var fields: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingSpaces()
            }
            let length = Int(fields["content-length"] ?? "0") ?? 0
            guard text.count >= end + 4 + length else { return next }
            let body = String(decoding: text[(end + 4)..<(end + 4 + length)], as: UTF8.self)
            text.removeFirst(end + 4 + length)
            let parts = status.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0] == "RTSP/1.0", parts[1] == "200" else {
                throw Failure("\(stage.rawValue): \(status.prefix(80))")
            }
            guard next == nil else { throw Failure("\(stage.rawValue): a response before the next request was sent") }
            switch stage {
            case .options:
                stage = .describe
                next = request("DESCRIBE", url, ["Accept: application/sdp"])
            case .describe:
                if let contentBase = fields["content-base"] ?? fields["content-location"], !contentBase.isEmpty { base = contentBase }
                try readSDP(body)
                stage = .setup
                next = request("SETUP", controlURL, ["Transport: RTP/AVP/TCP;unicast;interleaved=0-1"])
            case .setup:
                guard let value = fields["session"], let id = value.split(separator: ";").first else { throw Failure("SETUP: no Session") }
                session = id.trimmingSpaces()
                for part in (fields["transport"] ?? "").split(separator: ";") where part.hasPrefix("interleaved=") {
                    let digits = part.dropFirst("interleaved=".count).prefix { $0.isNumber }
                    if let channel = UInt8(digits) { rtpChannel = channel }
                }
                stage = .play
                next = request("PLAY", base.hasSuffix("/") ? String(base.dropLast()) : base, ["Range: npt=0.000-"])
            case .play:
                stage = .streaming
                let rest = text
                text = []
                if !rest.isEmpty { try feed(rest[...], realtime: realtime, onAccessUnit: onAccessUnit) }
            case .streaming:
                break
            }
        }
        return next
    }

    /// Interleaved bytes held in `text` (whole frames, or everything after the PLAY response).
    private mutating func feed(_ bytes: ArraySlice<UInt8>, realtime: UInt64, onAccessUnit: (AccessUnit) -> Void) throws(Failure) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { copy.deallocate() }
        copy.copyBytes(from: bytes)
        try interleaved(UnsafeRawBufferPointer(copy), realtime: realtime, onAccessUnit: onAccessUnit)
    }

    private func headerEnd() -> Int? {
        guard text.count >= 4 else { return nil }
        for i in 0...(min(text.count, 65_536) - 4) where text[i] == 13 && text[i + 1] == 10 && text[i + 2] == 13 && text[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// The first video (else first) media's control URL and clock rate.
    private mutating func readSDP(_ sdp: String) throws(Failure) {
        var inMedia = false
        var chosen = false
        var control: String?
        for raw in sdp.split(whereSeparator: \.isNewline) {
            let line = String(raw)
            if line.hasPrefix("m=") {
                if chosen { break }
                inMedia = true
                chosen = true
            } else if inMedia, line.hasPrefix("a=control:") {
                control = String(line.dropFirst("a=control:".count))
            } else if inMedia, line.hasPrefix("a=rtpmap:"), let slash = line.firstIndex(of: "/") {
                let rate = line[line.index(after: slash)...].prefix { $0.isNumber }
                if let value = Double(rate), value > 0 { clockRate = value }
            }
        }
        guard chosen else { throw Failure("DESCRIBE: no media in the SDP") }
        let c = control ?? "*"
        if c.hasPrefix("rtsp://") {
            controlURL = c
        } else if c == "*" {
            controlURL = base
        } else {
            controlURL = base.hasSuffix("/") ? base + c : base + "/" + c
        }
    }

    // MARK: Interleaved RTP/RTCP

    private mutating func interleaved(_ bytes: UnsafeRawBufferPointer, realtime: UInt64,
                                      onAccessUnit: (AccessUnit) -> Void) throws(Failure) {
        let n = bytes.count
        var i = 0
        while i < n {
            if skip > 0 {
                let k = min(skip, n - i)
                skip -= k
                i += k
                continue
            }
            if head.isEmpty {
                guard bytes[i] == 0x24 else {
                    throw Failure("expected an interleaved frame ('$'), got byte \(bytes[i]) (RTSP text from the server?)")
                }
                // Fast path: the frame header and the packet's head are in this read.
                if n - i >= 4 {
                    let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
                    let k = min(length, Self.headBytes)
                    if n - i >= 4 + k {
                        packet(channel: bytes[i + 1], length: length,
                               head: UnsafeRawBufferPointer(rebasing: bytes[(i + 4)..<(i + 4 + k)]),
                               realtime: realtime, onAccessUnit: onAccessUnit)
                        i += 4 + k
                        skip = length - k
                        continue
                    }
                }
            }
            head.append(bytes[i])
            i += 1
            if head.count == 4 {
                headTarget = 4 + min(Int(head[2]) << 8 | Int(head[3]), Self.headBytes)
            }
            if head.count >= 4 && head.count == headTarget {
                let length = Int(head[2]) << 8 | Int(head[3])
                let channel = head[1]
                let copy = head
                copy.withUnsafeBytes { raw in
                    packet(channel: channel, length: length, head: UnsafeRawBufferPointer(rebasing: raw[4...]),
                           realtime: realtime, onAccessUnit: onAccessUnit)
                }
                skip = length - (headTarget - 4)
                head.removeAll(keepingCapacity: true)
            }
        }
    }

    private static func be32(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(p[at]) << 24 | UInt32(p[at + 1]) << 16 | UInt32(p[at + 2]) << 8 | UInt32(p[at + 3])
    }

    private mutating func packet(channel: UInt8, length: Int, head p: UnsafeRawBufferPointer, realtime: UInt64,
                                 onAccessUnit: (AccessUnit) -> Void) {
        if channel == rtpChannel {
            guard p.count >= 12 else { return }
            rtpPackets += 1
            let payload = max(0, length - 12 - 4 * Int(p[0] & 0x0f))
            let timestamp = Self.be32(p, 4)
            if auOpen && timestamp != auTimestamp { finishAccessUnit(onAccessUnit) }
            if !auOpen {
                auOpen = true
                auFirst = realtime
                auTimestamp = timestamp
                auBytes = 0
            }
            auBytes += payload
            if p[1] & 0x80 != 0 { finishAccessUnit(onAccessUnit) }
        } else if channel == rtpChannel &+ 1 {
            // RTCP: a compound packet starts with the SR (PT 200): NTP seconds, fraction, RTP timestamp.
            guard p.count >= 20, p[1] == 200 else { return }
            let seconds = Int64(Self.be32(p, 8)) - 2_208_988_800
            let fraction = Int64(Self.be32(p, 12))
            srUnixNanos = seconds * 1_000_000_000 + (fraction * 1_000_000_000) >> 32
            srRTP = Self.be32(p, 16)
            senderReports += 1
        }
    }

    private mutating func finishAccessUnit(_ onAccessUnit: (AccessUnit) -> Void) {
        auOpen = false
        if let last = lastTimestamp {
            extendedTimestamp += Int64(Int32(bitPattern: auTimestamp &- last))
        }
        lastTimestamp = auTimestamp
        let index = (Double(max(extendedTimestamp, 0)) / (clockRate / fps)).rounded()
        var capture: UInt64?
        if let srUnixNanos {
            let offset = Double(Int32(bitPattern: auTimestamp &- srRTP)) / clockRate * 1e9
            capture = UInt64(max(0, Double(srUnixNanos) + offset))
        }
        onAccessUnit(AccessUnit(firstPacketRealtime: auFirst, rtpTimestamp: auTimestamp, payloadBytes: auBytes,
                                captureNanos: capture, frameIndex: UInt64(index)))
    }
}

private extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
