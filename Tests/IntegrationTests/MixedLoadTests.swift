// 200 HTTP stream viewers and 200 native viewers at once (camload, the benchmark's load generator,
// as the clients), with a stalled HTTP viewer among them.
import Foundation
import Testing
import TestSupport

/// Starts camload against `port` in the background; its JSON result is read after it exits.
private func startLoad(port: UInt16, multipart: Bool, clients: Int, pid: Int32) throws -> (Process, String) {
    let out = NSTemporaryDirectory() + "camload-\(UUID().uuidString).json"
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Binaries.path("camload"))
    process.arguments = ["--target", "127.0.0.1:\(port)", "--clients", "\(clients)", "--warmup", "2", "--duration", "4",
                         "--pid", "\(pid)", "--json"] + (multipart ? ["--protocol", "multipart", "--path", "/stream"] : [])
    process.standardOutput = FileHandle(forWritingAtPath: out)
    process.standardError = FileHandle.nullDevice
    try process.run()
    return (process, out)
}

private func result(_ load: (Process, String)) throws -> [String: Any] {
    if !waitUntil(timeout: 30, interval: 0.05, { !load.0.isRunning }) { load.0.terminate() }
    defer { try? FileManager.default.removeItem(atPath: load.1) }
    let data = try Data(contentsOf: URL(fileURLWithPath: load.1))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "camload printed no JSON")
}

extension CamdIntegrationTests {
    // Disabled under a sanitizer (scripts/sanitize.sh): it asserts frame rates of 400 viewers on 2 cores, which a 2–15×
    // slower camd and load generators meet only on an idle machine (it failed once under ASan with another suite running).
    @Test(.disabled(if: Sanitizer.running, "asserts frame rates that a sanitized build cannot hold"))
    func twoHundredHTTPAndTwoHundredNativeViewersAllGetTheFrameRate() throws {
        // 20 fps: 400 viewers of a debug build plus two load generators must fit on 2 cores with other suites
        // running; at 30 fps the machine itself, not camd's fan-out, decided whether the rate held.
        let fps = 20.0
        let camd = try CamdProcess(["--fps", "\(Int(fps))", "--width", "320", "--height", "240", "--max-clients", "450",
                                    "--client-timeout", "3"])
        let stalled = try NativeTestClient(port: camd.httpPort, receiveBuffer: 4096)
        try stalled.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
        let native = try startLoad(port: camd.port, multipart: false, clients: 200, pid: camd.pid)
        let http = try startLoad(port: camd.httpPort, multipart: true, clients: 200, pid: camd.pid)
        // Mid-run (camload runs 6 s), /state counts them (the stalled viewer may still be there or already dropped).
        var json: [String: Any] = [:]
        _ = waitUntil(timeout: 5, interval: 0.2) {
            json = camd.state() ?? [:]
            return json["clients_native"] as? Int == 200 && (json["viewers"] as? Int ?? 0) >= 400
        }
        #expect(json["clients_native"] as? Int == 200, "\(json)")
        #expect((json["viewers"] as? Int ?? 0) >= 400, "\(json)")

        for (name, load) in [("native", native), ("http", http)] {
            let r = try result(load)
            let median = r["fast_fps_median"] as? Double ?? 0, p5 = r["fast_fps_p5"] as? Double ?? 0
            // The exact rate at scale is bench/run.sh's to measure. What this asserts is that nobody is starved or
            // backlogged: the median within 5 % of the source's rate and the slowest 5 % within 15 % (a viewer
            // stuck behind another one, or a protocol left out of the fan-out, gets a fraction of that).
            #expect(median >= fps * 0.95 && p5 >= fps * 0.85, "\(name): fps median \(median), p5 \(p5)")
            #expect(r["failed"] as? Int == 0 && r["disconnected"] as? Int == 0 && r["idle"] as? Int == 0, "\(name): \(r)")
            #expect(r["resyncs"] as? Int == 0, "\(name): every part parsed by Content-Length")
        }
        // The stalled HTTP viewer was dropped after client_timeout, the others kept their rate meanwhile.
        #expect(try camd.waitForLog(containing: "timeout: accepted no data for ", timeout: 3) != nil)
        #expect(stalled.drainUntilClosed(timeout: 3))
        #expect(camd.stop() == 0)
    }
}
