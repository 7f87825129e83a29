// The control socket's reply types: the JSON keys scripts and /state readers rely on, and camctl's decoding.
import Foundation
import Testing
import Wire

struct ControlRepliesTests {
    private func keys(_ value: some Encodable) throws -> Set<String> {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any]
        return Set(try #require(object).keys)
    }

    @Test func statusKeepsTheKeysOfGetState() throws {
        var status = StatusReply()
        status.source_error = "gone"
        status.source_format = "YUYV"
        status.frame_age_ms = 1.5
        status.config_status = "restart needed for log_level"
        status.idle_seconds = 12
        status.capture_latency_p50_ms = 8.5
        status.capture_latency_p99_ms = 20.1
        #expect(try keys(status) == [
            "version", "source", "source_state", "source_retries", "source_error", "source_format", "format", "width",
            "height", "fps", "target_fps", "uptime_seconds", "sequence", "frame_age_ms", "placeholder",
            "idle", "idle_seconds", "idle_camera", "frames_captured", "capture_fps", "frames_unchanged", "drop_same_frames", "frames_invalid", "clients", "viewers", "clients_native", "clients_http",
            "clients_accepted", "clients_refused", "clients_timed_out", "frames_sent", "frames_dropped",
            "bytes_sent", "config_status",
            "encode_workers", "frames_encoder_dropped", "frames_encode_failed", "capture_latency_p50_ms", "capture_latency_p99_ms",
        ])
        #expect(try !keys(StatusReply()).contains("source_error"), "absent values are left out, not null")
    }

    @Test func eachReplyRoundTripsAsCamctlReadsIt() throws {
        let decoder = JSONDecoder(), encoder = JSONEncoder()
        let row = ClientRow(id: 3, peer: "127.0.0.1:5000", protocol: "http", streaming: true, connected_seconds: 2.5,
                            frames_sent: 75, frames_dropped: 1, bytes_sent: 9_000_000)
        #expect(try decoder.decode(ClientsReply.self, from: encoder.encode(ClientsReply(clients: [row]))).clients == [row])
        #expect(try keys(row) == ["id", "peer", "protocol", "streaming", "connected_seconds", "frames_sent",
                                  "frames_dropped", "bytes_sent"])
        let set = SetReply(key: "fps", value: "10", previous: "30")
        #expect(try decoder.decode(SetReply.self, from: encoder.encode(set)) == set)
        #expect(try keys(ChangeReply(changes: [], restart_needed: ["log_level"])) == ["ok", "changes", "restart_needed"])
        #expect(try keys(KickReply(kicked: 3)) == ["ok", "kicked"])
    }

    @Test func anErrorReplyIsRecognisedAndASuccessIsNot() throws {
        let decoder = JSONDecoder()
        #expect(try decoder.decode(ErrorReply.self, from: Data(#"{"error":"no client with id 9"}"#.utf8)).error
                == "no client with id 9")
        #expect((try? decoder.decode(ErrorReply.self, from: Data(#"{"ok":true,"kicked":3}"#.utf8))) == nil)
    }
}
