// RTSPMedia: what one RTSP path serves (H.264 or RFC 2435 JPEG, its size and rate, its SSRC and RTP clock), the
// SDP a DESCRIBE answers with (RFC 4566, RFC 6184 §8.2.1), and the Transport header a SETUP asks for and gets.
import H264

public struct RTSPMedia: Sendable, Equatable {
    public enum Codec: Sendable, Equatable {
        /// H.264 with the SPS and PPS that give the SDP its profile-level-id and sprop-parameter-sets.
        case h264(H264ParameterSets)
        /// RFC 2435 JPEG, static payload type 26.
        case jpeg
    }

    public var codec: Codec
    public var width: Int
    public var height: Int
    public var fps: Double
    /// One SSRC per stream (see RTPPacket).
    public var ssrc: UInt32
    public var clock: RTPClock

    public init(codec: Codec, width: Int, height: Int, fps: Double, ssrc: UInt32, clock: RTPClock) {
        self.codec = codec
        self.width = width
        self.height = height
        self.fps = fps
        self.ssrc = ssrc
        self.clock = clock
    }

    public var payloadType: UInt8 {
        if case .jpeg = codec { return 26 }
        return 96
    }

    /// The control attribute of the one track; its URL is the Content-Base followed by this.
    public static let trackControl = "trackID=0"

    /// The session description. `sessionID` is the SDP o= session id (digits).
    public func sdp(sessionID: UInt64) -> String {
        var lines = [
            "v=0",
            "o=- \(sessionID) 1 IN IP4 0.0.0.0",
            "s=camd",
            "t=0 0",
            "a=tool:camd",
            "a=range:npt=0-",
            "a=control:*",
        ]
        let rate = fps == fps.rounded() ? String(Int(fps)) : String(fps)
        switch codec {
        case .h264(let sets):
            lines += [
                "m=video 0 RTP/AVP 96",
                "c=IN IP4 0.0.0.0",
                "a=rtpmap:96 H264/90000",
                "a=fmtp:96 packetization-mode=1;profile-level-id=\(sets.profileLevelID.uppercased());sprop-parameter-sets=\(sets.spropParameterSets)",
            ]
        case .jpeg:
            lines += ["m=video 0 RTP/AVP 26", "c=IN IP4 0.0.0.0", "a=rtpmap:26 JPEG/90000"]
        }
        lines += [
            "a=control:\(Self.trackControl)",
            "a=framerate:\(rate)",
            "a=x-dimensions:\(width),\(height)",
        ]
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

/// How one session's RTP and RTCP travel.
public enum RTSPTransport: Sendable, Equatable {
    /// Interleaved in the RTSP connection (RFC 2326 §10.12) on these channels.
    case interleaved(rtp: UInt8, rtcp: UInt8)
    /// UDP unicast to the client's ports (the peer's address is the driver's).
    case udp(clientRTP: UInt16, clientRTCP: UInt16)

    public enum Choice: Equatable, Sendable {
        case transport(RTSPTransport)
        /// 461 Unsupported Transport: multicast, RECORD mode, another profile, UDP where camd has no UDP ports.
        case unsupported(String)
        /// 400: no transport spec could be read.
        case malformed
    }

    /// The first of the client's comma-separated transport specs camd can serve (RFC 2326 §12.39).
    public static func choose(_ header: String, udpAvailable: Bool) -> Choice {
        var why = "no transport camd serves"
        for spec in header.split(separator: ",") {
            let parts = spec.split(separator: ";").map { $0.trimmingWhitespace() }
            guard let profile = parts.first?.uppercased(), !profile.isEmpty else { return .malformed }
            var parameters: [String: String] = [:]
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard !pair[0].isEmpty else { return .malformed }
                parameters[pair[0].lowercased()] = pair.count == 2 ? String(pair[1]) : ""
            }
            if parameters["multicast"] != nil {
                why = "multicast is not served"
                continue
            }
            if let mode = parameters["mode"]?.trimmingCharacters(in: "\"").uppercased(), mode != "PLAY" {
                why = "only mode=PLAY is served"
                continue
            }
            switch profile {
            case "RTP/AVP/TCP":
                guard let channels = parameters["interleaved"] else { return .transport(.interleaved(rtp: 0, rtcp: 1)) }
                guard let (rtp, rtcp) = pair(channels), rtp <= 255, rtcp <= 255 else { return .malformed }
                return .transport(.interleaved(rtp: UInt8(rtp), rtcp: UInt8(rtcp)))
            case "RTP/AVP", "RTP/AVP/UDP":
                guard udpAvailable else {
                    why = "RTP over UDP is not available (use TCP)"
                    continue
                }
                guard let ports = parameters["client_port"], let (rtp, rtcp) = pair(ports), rtp > 0, rtp <= 65535, rtcp > 0, rtcp <= 65535 else {
                    return .malformed
                }
                return .transport(.udp(clientRTP: UInt16(rtp), clientRTCP: UInt16(rtcp)))
            default:
                why = "only RTP/AVP is served"
            }
        }
        return .unsupported(why)
    }

    /// "0-1" → (0, 1); "5000" → (5000, 5001).
    private static func pair(_ text: String) -> (Int, Int)? {
        let ends = text.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count <= 2, let first = number(ends[0]) else { return nil }
        if ends.count == 1 { return (first, first + 1) }
        guard let second = number(ends[1]) else { return nil }
        return (first, second)
    }

    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy(RTSPRequestParser.isDigit) else { return nil }
        return Int(text)
    }

    /// The Transport header of the SETUP response.
    public func header(ssrc: UInt32, serverPorts: (rtp: UInt16, rtcp: UInt16)?) -> String {
        let id = String(ssrc, radix: 16, uppercase: true)
        let ssrcText = String(repeating: "0", count: 8 - id.count) + id
        switch self {
        case .interleaved(let rtp, let rtcp):
            return "RTP/AVP/TCP;unicast;interleaved=\(rtp)-\(rtcp);ssrc=\(ssrcText);mode=\"PLAY\""
        case .udp(let clientRTP, let clientRTCP):
            let server = serverPorts.map { ";server_port=\($0.rtp)-\($0.rtcp)" } ?? ""
            return "RTP/AVP;unicast;client_port=\(clientRTP)-\(clientRTCP)\(server);ssrc=\(ssrcText);mode=\"PLAY\""
        }
    }
}


extension StringProtocol {
    func trimmingCharacters(in character: Character) -> String {
        var text = Substring(self)
        while text.first == character { text.removeFirst() }
        while text.last == character { text.removeLast() }
        return String(text)
    }
}
