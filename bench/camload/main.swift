// camload: the benchmark's load generator. One thread on camd's own Reactor opens N fast viewers and
// M slow ones (small receive buffer, reads rate-limited) over the native protocol or HTTP multipart,
// warms up, measures for a fixed time, and prints one result line (or a JSON object).
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CamdSystem
import Reactor

extension WireProtocol: ExpressibleByArgument {}

struct CamLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camload",
        abstract: "Load a camd (or any MJPEG-over-TCP server) with many viewers and measure what they get.",
        discussion: """
        Protocols: native (camd's 32-byte header + JPEG), multipart (HTTP GET PATH, then \
        multipart/x-mixed-replace parts by Content-Length), multipart-raw (parts with no HTTP response \
        head, as GStreamer's multipartmux ! tcpserversink sends them), rtsp (OPTIONS, DESCRIBE, SETUP with RTP/AVP/TCP \
        interleaved, PLAY; then a frame is an RTP access unit, ended by the marker bit; its size is RTP payload bytes; \
        latency is the first packet's receive time minus the capture time from the RTCP sender report's NTP<->RTP \
        mapping; dropped frames are gaps in RTP time, in --source-fps intervals).

        Per-client fps is complete frames received in the measured window / its length. Latency is \
        receive time (CLOCK_REALTIME, last byte) minus the capture timestamp: the native header's, or a \
        part's X-Timestamp (omitted when absent). Dropped frames are gaps in the sequence numbers (native \
        header, or X-Sequence). With --pid, the server's CPU (utime+stime over the window, /proc/PID/stat) \
        and peak RSS (VmHWM, /proc/PID/status) are reported, with CPU ms per delivered frame.

        The run always ends after the connect ramp (--clients + --slow) / --connect-rate, then --warmup, \
        then --duration seconds. Exit status 0, or 1 if no client \
        received a single frame in the window, 2 if the load could not start.
        """)

    @Option(help: ArgumentHelp("Server address (loopback only unless --allow-remote).", valueName: "host:port"))
    var target: String = "127.0.0.1:9999"

    @Option(name: .customLong("protocol"), help: "native, multipart, multipart-raw or rtsp.")
    var wire: WireProtocol = .native

    @Option(help: "HTTP path to GET with --protocol multipart; the RTSP path (rtsp://TARGET/PATH) with --protocol rtsp.")
    var path: String = "/stream"

    @Option(help: "Fast clients: read everything as soon as it arrives.")
    var clients: Int = 1

    @Option(help: "Slow clients: small receive buffer, reads limited to --slow-rate.")
    var slow: Int = 0

    @Option(help: ArgumentHelp("Bytes per second each slow client reads.", valueName: "bytes/s"))
    var slowRate: Int = 200_000

    @Option(help: ArgumentHelp("SO_RCVBUF for slow clients (Linux doubles it; 0 = leave the default). Below 32768, loopback's large segments overflow the buffer, the kernel drops them and retransmission timeouts cut some clients far below --slow-rate.", valueName: "bytes"))
    var slowRcvbuf: Int = 32768

    @Option(help: ArgumentHelp("Connections started per second (0 = all at once). GStreamer's tcpserversink listens with a backlog of 5: a burst of connects overflows it and the kernel drops SYNs, so ramp up for it.", valueName: "per-second"))
    var connectRate: Double = 0

    @Option(help: ArgumentHelp("A slow client reads only once its rate allows this many bytes (0 = whatever the rate allows, every 10 ms).", valueName: "bytes"))
    var slowChunk: Int = 0

    @Option(help: ArgumentHelp("Seconds to settle after the last connection was started, before measuring.", valueName: "seconds"))
    var warmup: Double = 3

    @Option(help: ArgumentHelp("Seconds measured.", valueName: "seconds"))
    var duration: Double = 10

    @Option(help: "The server's process id, for CPU and memory from /proc.")
    var pid: Int32?

    @Option(help: ArgumentHelp("A client closed before the end (by the server, a kick, an error) connects again after this many seconds (0 = never). Churn clients never do.", valueName: "seconds"))
    var reconnect: Double = 0

    @Option(help: ArgumentHelp("Extra short-lived clients started per second for the whole run, each closing itself after a random time from 0 to twice --churn-life.", valueName: "per-second"))
    var churn: Double = 0

    @Option(help: ArgumentHelp("Mean seconds a churn client stays connected.", valueName: "seconds"))
    var churnLife: Double = 1

    @Option(help: ArgumentHelp("Write one line per frame client 0 receives (and its connects and closes) to this file: the soak's canary.", valueName: "file"))
    var frameLog: String?

    @Option(help: "The source's frame rate, for the slow clients' latency bound (2 frame intervals + transfer time).")
    var sourceFps: Double = 30

    @Option(help: ArgumentHelp("RTSP: the warm-up starts only once every viewer is playing (PLAY answered), or this many seconds after the ramp.", valueName: "seconds"))
    var playTimeout: Double = 60

    @Option(help: "A label for the result (e.g. the scenario name).")
    var label: String = ""

    @Flag(help: "Print the result as one JSON object on stdout (the text line goes to stderr).")
    var json = false

    @Flag(help: "Allow a target that is not a loopback address.")
    var allowRemote = false

    func validate() throws {
        guard clients >= 0, slow >= 0, clients + slow >= 1, clients + slow <= 60_000 else {
            throw ValidationError("--clients + --slow must be from 1 to 60000")
        }
        guard slowRate >= 1 else { throw ValidationError("--slow-rate must be positive") }
        guard slowChunk >= 0, slowChunk <= 1 << 20 else { throw ValidationError("--slow-chunk must be from 0 to 1048576") }
        guard slowRcvbuf >= 0 else { throw ValidationError("--slow-rcvbuf must not be negative") }
        guard connectRate >= 0, connectRate.isFinite else { throw ValidationError("--connect-rate must not be negative") }
        if connectRate > 0 && Double(clients + slow) / connectRate > 600 {
            throw ValidationError("--connect-rate is too low: the ramp would take more than 600 seconds")
        }
        guard warmup >= 0, warmup <= 600 else { throw ValidationError("--warmup must be from 0 to 600 seconds") }
        guard duration > 0, duration <= 86_400 else { throw ValidationError("--duration must be from 0 to 86400 seconds") }
        guard reconnect >= 0, reconnect <= 3600 else { throw ValidationError("--reconnect must be from 0 to 3600 seconds") }
        guard churn >= 0, churn <= 10_000 else { throw ValidationError("--churn must be from 0 to 10000 per second") }
        guard churnLife > 0, churnLife <= 3600 else { throw ValidationError("--churn-life must be from 0 to 3600 seconds") }
        guard playTimeout >= 0, playTimeout <= 600 else { throw ValidationError("--play-timeout must be from 0 to 600 seconds") }
        guard sourceFps > 0 else { throw ValidationError("--source-fps must be positive") }
        guard path.hasPrefix("/") else { throw ValidationError("--path must start with '/'") }
        let address: SocketAddress
        do { address = try SocketAddress(parsing: target) } catch {
            throw ValidationError("--target \(target): \(error)")
        }
        guard address.port != 0 else { throw ValidationError("--target needs a port") }
        if !allowRemote && !Self.isLoopback(address) {
            throw ValidationError("--target \(target) is not a loopback address (use --allow-remote to load another host)")
        }
    }

    static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let host, _): return host.first == 127
        case .v6(let host, _): return host == Array(repeating: 0, count: 15) + [1]
        }
    }

    func run() throws {
        ProcessSignals.ignoreSIGPIPE()
        let wanted = clients + slow + Int(churn * churnLife * 3) + 64
        let limit = raiseFileLimit(to: wanted)
        if limit >= 0 && limit < wanted {
            printError("camload: warning: RLIMIT_NOFILE is \(limit), fewer than the \(wanted) descriptors this run needs; raise the hard limit (ulimit -Hn)")
        }
        let plan = LoadPlan(target: try SocketAddress(parsing: target), wire: wire, path: path,
                            fastClients: clients, slowClients: slow, slowRate: slowRate, slowReceiveBuffer: slowRcvbuf, slowChunk: slowChunk,
                            connectRate: connectRate, warmupNanos: UInt64(warmup * 1e9), durationNanos: UInt64(duration * 1e9), serverPID: pid,
                            reconnectNanos: UInt64(reconnect * 1e9), churnRate: churn, churnMeanLifeNanos: UInt64(churnLife * 1e9),
                            frameLogPath: frameLog, sourceFPS: sourceFps, playTimeoutNanos: UInt64(playTimeout * 1e9))
        if let pid, ProcessSample(pid: pid) == nil {
            printError("camload: warning: cannot read /proc/\(pid)/stat; server CPU and memory will be missing")
        }
        let measurement: LoadMeasurement
        do {
            measurement = try LoadEngine(plan: plan).run()
        } catch {
            printError("camload: \(error)")
            throw ExitCode(2)
        }
        let summary = LoadSummary(label: label, plan: plan, sourceFPS: sourceFps, measurement: measurement)
        if json {
            printError(summary.line)
            print(summary.json)
        } else {
            print(summary.line)
        }
        for problem in summary.problems { printError("camload: \(problem)") }
        if summary.receivedNothing { throw ExitCode(1) }
    }
}

CamLoad.main()
