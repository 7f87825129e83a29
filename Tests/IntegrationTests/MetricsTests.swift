// GET /metrics against the real camd: promtool checks the body, values move with frames and viewers, the
// token guards it as it guards /state; a real Prometheus scrapes camd and computes the frame rate; the
// example Grafana dashboard names only metrics camd exports, and each of its queries runs in that Prometheus.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Testing
import TestSupport

/// promtool and prometheus come with Debian's `prometheus` package, which `scripts/deps.sh test` installs: a
/// missing binary is a broken test machine, so the tests fail saying so rather than skip.
private func prometheusTool(_ name: String) throws -> String {
    for path in ["/usr/bin/\(name)"] + (which(name).map { [$0] } ?? []) where FileManager.default.isExecutableFile(atPath: path) {
        return path
    }
    throw TestFailure("\(name) not found: install the Debian package prometheus (scripts/deps.sh test does)")
}

/// A scrape of /metrics over a real socket: the response head and the body.
private func scrape(_ port: UInt16, auth: String = "") throws -> (head: String, body: String) {
    let answer = try httpExchange(port: port, "GET /metrics HTTP/1.1\r\nHost: cam\r\n\(auth)Connection: close\r\n\r\n")
    guard let split = answer.range(of: "\r\n\r\n") else { throw TestFailure("no complete response to GET /metrics: \(answer.prefix(200))") }
    return (String(answer[..<split.lowerBound]), String(answer[split.upperBound...]))
}

/// The samples of an exposition body: `name{labels}` → value (the series text exactly as written).
private func samples(_ body: String) -> [String: Double] {
    var result: [String: Double] = [:]
    for line in body.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        result[String(line[..<space])] = Double(line[line.index(after: space)...]) ?? (line.hasSuffix("+Inf") ? .infinity : .nan)
    }
    return result
}

/// The family names an exposition body declares with # TYPE, in order.
private func families(_ body: String) -> [String] {
    body.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) }
}

extension CamdIntegrationTests {
    @Test func metricsPassPromtoolAndFollowFramesViewersAndRefusals() throws {
        let promtool = try prometheusTool("promtool")
        // idle_after 0: a scrape is not a viewer, and frames must keep coming with nobody watching.
        let camd = try CamdProcess(["--fps", "10", "--width", "320", "--height", "240", "--max-clients", "2", "--idle-after", "0"])
        let first = try scrape(camd.httpPort)
        #expect(first.head.hasPrefix("HTTP/1.1 200 OK"), "\(first.head)")
        #expect(first.head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), "\(first.head)")
        let check = try runCommand(promtool, ["check", "metrics"], input: first.body)
        #expect(check.status == 0, "promtool check metrics: \(check.stdout) \(check.stderr)\n\(first.body)")
        let names = families(first.body)
        #expect(Set(names).count == names.count, "a family is declared twice: \(names)")
        for name in ["camd_frames_captured_total", "camd_viewers", "camd_encode_seconds", "process_cpu_seconds_total",
                     "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                     "process_start_time_seconds", "camd_build_info", "camd_source_up", "camd_frame_age_seconds"] {
            #expect(names.contains(name), "\(name) missing from /metrics")
        }
        // Listening comes before the first frame: under a sanitizer or a loaded machine the pattern may not be up
        // at the first scrape, so wait for the condition rather than assume it.
        var before = samples(first.body)
        #expect(try waitUntil(timeout: 10, interval: 0.05) {
            before = samples(try scrape(camd.httpPort).body)
            return before["camd_source_up"] == 1
        }, "the source never came up: \(before)")
        #expect(before["camd_source_up"] == 1 && before["camd_source_state{state=\"streaming\"}"] == 1)
        #expect(before["camd_capture_idle"] == 0 && before["camd_source_state{state=\"stopped\"}"] == 0)
        #expect(before["camd_target_frames_per_second"] == 10 && before["camd_frame_width_pixels"] == 320)
        #expect((before["process_resident_memory_bytes"] ?? 0) > 1_000_000 && (before["process_open_fds"] ?? 0) >= 5)
        let start = before["process_start_time_seconds"] ?? 0
        #expect(abs(start - Date().timeIntervalSince1970) < 120, "process_start_time_seconds \(start)")

        // Frames captured go up at about 10 fps; the test pattern is encoded by camd, so each frame is timed.
        var now: [String: Double] = [:]
        #expect(try waitUntil(timeout: 10, interval: 0.1) {
            now = samples(try scrape(camd.httpPort).body)
            return (now["camd_frames_captured_total"] ?? 0) >= (before["camd_frames_captured_total"] ?? 0) + 5
        }, "frames captured did not move: \(now)")
        let encodes = now["camd_encode_seconds_count"] ?? 0
        #expect(encodes >= 5 && now["camd_encode_seconds_bucket{le=\"+Inf\"}"] == encodes && (now["camd_encode_seconds_sum"] ?? 0) > 0,
                "\(now)")
        #expect(now["camd_http_requests_total{route=\"/metrics\",code=\"200\"}"] ?? 0 >= 1, "scrapes are counted: \(now)")

        // A native viewer and an HTTP viewer: the gauge by protocol, frames and bytes sent grow.
        let native = try NativeTestClient(port: camd.port)
        for _ in 0..<3 { _ = try native.readFrame() }
        let http = try NativeTestClient(port: camd.httpPort)
        try http.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
        #expect(try waitUntil(timeout: 10, interval: 0.1) {
            now = samples(try scrape(camd.httpPort).body)
            return now["camd_viewers{protocol=\"native\"}"] == 1 && now["camd_viewers{protocol=\"http\"}"] == 1
                && (now["camd_frames_sent_total"] ?? 0) >= 3 && (now["camd_sent_bytes_total"] ?? 0) > 3 * 1000
        }, "\(now)")
        let sent = now["camd_frames_sent_total"] ?? 0
        for _ in 0..<3 { _ = try native.readFrame() }
        #expect(try waitUntil(timeout: 10, interval: 0.1) {
            now = samples(try scrape(camd.httpPort).body)
            return (now["camd_frames_sent_total"] ?? 0) >= sent + 3
        }, "frames sent did not grow past \(sent): \(now)")

        // max_clients is 2 and both slots are taken: a third viewer is refused and counted by its limit.
        let third = try NativeTestClient(port: camd.port)
        #expect(throws: (any Error).self) { try third.readFrame() }
        #expect(try waitUntil(timeout: 10, interval: 0.1) {
            now = samples(try scrape(camd.httpPort).body)
            return now["camd_connections_refused_total{reason=\"max_clients\"}"] == 1
        }, "\(now)")
        #expect(now["camd_connections_refused_total{reason=\"max_clients_per_ip\"}"] == 0)
        let last = try scrape(camd.httpPort).body
        let recheck = try runCommand(promtool, ["check", "metrics"], input: last)
        #expect(recheck.status == 0, "promtool check metrics with viewers: \(recheck.stdout) \(recheck.stderr)")
        native.close()
        http.close()
        #expect(camd.stop() == 0)
    }

    @Test func metricsNeedTheTokenAsStateDoes() throws {
        let token = "metrics-token-0123456789"
        let config = NSTemporaryDirectory() + "metrics-auth-\(UUID().uuidString).toml"
        try "http_token = \"\(token)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let camd = try CamdProcess(["--config", config, "--width", "320", "--height", "240"])
        func status(_ path: String, _ auth: String = "") throws -> String {
            let answer = try httpExchange(port: camd.httpPort, "GET \(path) HTTP/1.1\r\nHost: cam\r\n\(auth)Connection: close\r\n\r\n")
            return String(answer.prefix(12))
        }
        #expect(try status("/state") == "HTTP/1.1 401")
        #expect(try status("/metrics") == "HTTP/1.1 401")
        #expect(try status("/metrics", "Authorization: Bearer wrong-token\r\n") == "HTTP/1.1 401")
        #expect(try status("/metrics?token=\(token)") == "HTTP/1.1 200")
        let allowed = try scrape(camd.httpPort, auth: "Authorization: Bearer \(token)\r\n")
        #expect(allowed.head.hasPrefix("HTTP/1.1 200") && allowed.body.contains("# TYPE camd_frames_captured_total counter"))
        #expect(!allowed.body.contains(token), "the token is not in the metrics")
        // The refused scrapes are counted (route and 401), the token never a label.
        #expect(samples(allowed.body)["camd_http_requests_total{route=\"/metrics\",code=\"401\"}"] == 2, "\(allowed.body)")
        #expect(camd.stop() == 0)
    }

    @Test func metricsShowTheCaptureIdleWithNobodyWatchingAndAwakeWithAViewer() throws {
        let camd = try CamdProcess(["--fps", "10", "--width", "320", "--height", "240", "--idle-after", "1"])
        var now: [String: Double] = [:]
        // Scrapes are not demand: with only them, the capture idles after 1 s and makes no frames.
        #expect(try waitUntil(timeout: 15, interval: 0.1) {
            now = samples(try scrape(camd.httpPort).body)
            return now["camd_capture_idle"] == 1 && now["camd_capture_frames_per_second"] == 0
        }, "\(now)")
        let captured = now["camd_frames_captured_total"] ?? 0
        let viewer = try NativeTestClient(port: camd.port)
        for _ in 0..<5 { _ = try viewer.readFrame() }
        #expect(try waitUntil(timeout: 10, interval: 0.1) {
            now = samples(try scrape(camd.httpPort).body)
            return now["camd_capture_idle"] == 0 && (now["camd_frames_captured_total"] ?? 0) >= captured + 3
                && now["camd_viewers{protocol=\"native\"}"] == 1
        }, "\(now)")
        viewer.close()
        #expect(camd.stop() == 0)
    }

    @Test func grafanaDashboardIsJSONAndNamesOnlyExportedMetrics() throws {
        let path = Binaries.packageRoot + "/examples/grafana-camd.json"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not a JSON object")
        #expect((dashboard["schemaVersion"] as? Int ?? 0) >= 36)
        let inputs = dashboard["__inputs"] as? [[String: Any]] ?? []
        #expect(inputs.contains { $0["name"] as? String == "DS_PROMETHEUS" && $0["pluginId"] as? String == "prometheus" })
        let expressions = Self.dashboardExpressions(dashboard)
        #expect(expressions.count >= 15, "\(expressions)")

        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let exported = Set(families(try scrape(camd.httpPort).body))
        #expect(camd.stop() == 0)
        let panels = dashboard["panels"] as? [[String: Any]] ?? []
        let titles = panels.compactMap { $0["title"] as? String }.joined(separator: " | ")
        for needed in ["Frames per second", "Viewers by protocol", "Bytes sent", "skipped", "Frame age", "encode time", "CPU",
                       "Memory", "Refused and timed out"] {
            #expect(titles.localizedCaseInsensitiveContains(needed), "no panel for \(needed): \(titles)")
        }
        for expression in expressions {
            let names = Self.metricNames(in: expression)
            #expect(!names.isEmpty, "\(expression) names no metric")
            for name in names {
                let family = ["_bucket", "_sum", "_count"].reduce(name) { family, suffix in
                    family.hasSuffix(suffix) && exported.contains(String(family.dropLast(suffix.count)))
                        ? String(family.dropLast(suffix.count)) : family
                }
                #expect(exported.contains(family), "\(expression): camd exports no \(name)")
            }
        }
    }

    /// Every PromQL expression in a Grafana dashboard: the panels' targets and the template variables' queries.
    static func dashboardExpressions(_ dashboard: [String: Any]) -> [String] {
        var result: [String] = []
        for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                if let expr = target["expr"] as? String { result.append(expr) }
            }
        }
        return result
    }

    /// The camd_ and process_ metric names an expression uses.
    static func metricNames(in expression: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "\\b(camd|process)_[a-zA-Z0-9_]+")
        let range = NSRange(expression.startIndex..., in: expression)
        return Set(regex.matches(in: expression, range: range).compactMap { Range($0.range, in: expression).map { String(expression[$0]) } })
    }

    @Test func prometheusScrapesCamdAndComputesTheFrameRate() throws {
        let prometheus = try prometheusTool("prometheus")
        let token = "prometheus-scrape-token-42"
        let config = NSTemporaryDirectory() + "metrics-prom-\(UUID().uuidString).toml"
        try "http_token = \"\(token)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        // idle_after 0: Prometheus's scrapes are not viewers, and this test needs frames throughout.
        let camd = try CamdProcess(["--config", config, "--fps", "10", "--width", "320", "--height", "240", "--idle-after", "0"])

        // Prometheus on a free loopback port (never 9090, where a packaged one may listen), its own storage.
        let directory = NSTemporaryDirectory() + "prometheus-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: camd
            authorization:
              credentials: \(token)
            static_configs:
              - targets: ['127.0.0.1:\(camd.httpPort)']
        """.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let port = try freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: prometheus)
        server.arguments = ["--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn"]
        let logPath = directory + "/prometheus.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        server.standardError = FileHandle(forWritingAtPath: logPath)
        server.standardOutput = FileHandle(forWritingAtPath: logPath)
        try server.run()
        defer {
            if server.isRunning { kill(server.processIdentifier, SIGTERM) }
            if !waitUntil(timeout: 10, interval: 0.05, { !server.isRunning }) { kill(server.processIdentifier, SIGKILL) }
            server.waitUntilExit()
        }
        func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        /// One PromQL instant query through Prometheus's HTTP API: the result vector's values by series.
        func query(_ promql: String) throws -> (status: String, values: [Double], raw: String) {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            let encoded = promql.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
            let answer = try httpExchange(port: port, "GET /api/v1/query?query=\(encoded) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            guard let split = answer.range(of: "\r\n\r\n"),
                  let json = try? JSONSerialization.jsonObject(with: Data(answer[split.upperBound...].utf8)) as? [String: Any]
            else { return ("no JSON", [], String(answer.prefix(300))) }
            let result = (json["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
            let values = result.compactMap { ($0["value"] as? [Any])?.last as? String }.compactMap(Double.init)
            return (json["status"] as? String ?? "?", values, String(answer[split.upperBound...].prefix(400)))
        }

        var ready = ""
        #expect(waitUntil(timeout: 60, interval: 0.2) {
            ready = (try? httpExchange(port: port, "GET /-/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) ?? ""
            return ready.hasPrefix("HTTP/1.1 200") || !server.isRunning
        }, "prometheus not ready: \(ready.prefix(200)) \(log())")
        try #require(server.isRunning, "prometheus exited: \(log())")

        // The scrape (with the bearer token) succeeds, and the counter's rate is camd's 10 fps.
        var rate: (status: String, values: [Double], raw: String) = ("", [], "")
        #expect(try waitUntil(timeout: 60, interval: 0.5) {
            rate = try query("rate(camd_frames_captured_total[5s])")
            return rate.values.count == 1 && abs(rate.values[0] - 10) <= 1.5
        }, "rate(camd_frames_captured_total[5s]) = \(rate.raw); camd \(camd.state() ?? [:]); \(log())")
        let up = try query("up{job=\"camd\"}")
        #expect(up.values == [1], "\(up.raw)")

        // Every query of the example dashboard runs and has data (Grafana's variables filled in as it would).
        let data = try Data(contentsOf: URL(fileURLWithPath: Binaries.packageRoot + "/examples/grafana-camd.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for expression in Self.dashboardExpressions(dashboard) {
            let promql = expression.replacingOccurrences(of: "$__rate_interval", with: "5s")
                .replacingOccurrences(of: "$instance", with: ".*")
            var answer: (status: String, values: [Double], raw: String) = ("", [], "")
            #expect(try waitUntil(timeout: 20, interval: 0.5) {
                answer = try query(promql)
                return answer.status != "success" || !answer.values.isEmpty
            } && answer.status == "success", "\(promql): \(answer.raw)")
        }
        #expect(camd.stop() == 0)
    }
}
