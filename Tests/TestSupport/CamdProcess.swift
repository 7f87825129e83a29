// CamdProcess: runs the built camd (or camview) binary for integration tests and reads its log.
import CamdSystem
import Foundation

public enum Binaries {
    /// The directory holding the built products: the test bundle sits beside camd and camview.
    public static var productsDirectory: String {
        if let override = ProcessInfo.processInfo.environment["CAMD_PRODUCTS"] { return override }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the tests run as <products>/camdPackageTests.xctest; elsewhere inside a bundle.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("camd").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    public static func path(_ name: String) -> String { productsDirectory + "/" + name }

    /// The package root (for config/ and examples/).
    public static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A running camd. Its stderr goes to a temporary file that tests can read.
public final class CamdProcess: @unchecked Sendable {
    public let process = Process()
    public let logPath: String
    public private(set) var port: UInt16 = 0
    public private(set) var httpPort: UInt16 = 0
    /// The RTSP port, when the test asked for an RTSP listener (`--rtsp-listen 127.0.0.1:0`).
    public private(set) var rtspPort: UInt16 = 0
    /// The control socket (a fresh path per process unless the arguments name one).
    public let controlSocket: String

    /// Starts camd with `arguments` (plus a loopback listener on a free port unless one is given)
    /// and waits until it listens.
    /// `wrapper` runs camd through another program that execs it (e.g. `prlimit --nofile=48`).
    public init(_ arguments: [String], listen: Bool = true, environment: [String: String]? = nil,
                wrapper: [String] = []) throws {
        logPath = NSTemporaryDirectory() + "camd-test-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        var args = wrapper.dropFirst() + [Binaries.path("camd")] + arguments
        if wrapper.isEmpty { args.removeFirst() }
        process.executableURL = URL(fileURLWithPath: wrapper.first ?? Binaries.path("camd"))
        if listen { args += ["--listen", "127.0.0.1:0"] }
        if listen && !args.contains("--http-listen") { args += ["--http-listen", "127.0.0.1:0"] }
        // RTSP's default port (8554) would be shared by every camd a test starts at once: off unless a test asks.
        if !args.contains("--rtsp-listen") { args += ["--rtsp-listen", "off"] }
        if !args.contains("--stats-interval") { args += ["--stats-interval", "0"] }
        if let index = args.firstIndex(of: "--control-socket"), index + 1 < args.endIndex {
            controlSocket = args[index + 1]
        } else {
            controlSocket = NSTemporaryDirectory() + "camd-control-\(UUID().uuidString.prefix(8))"
            args += ["--control-socket", controlSocket]
        }
        process.arguments = Array(args)
        if let environment { process.environment = environment }
        let log = FileHandle(forWritingAtPath: logPath)!
        process.standardError = log
        process.standardOutput = log
        try process.run()
        if listen {
            guard let line = try waitForLog(containing: "native viewers: tcp://", timeout: 20) else {
                terminate()
                throw TestFailure("camd did not start listening; log:\n\(self.log)")
            }
            let address = line.components(separatedBy: "tcp://").last!.trimmingCharacters(in: .whitespaces)
            port = UInt16(address.split(separator: ":").last!)!
            if let http = try waitForLog(containing: "http viewers: http://", timeout: 5),
               let rest = http.components(separatedBy: "http://").dropFirst().first,
               let portText = rest.split(separator: "/").first?.split(separator: ":").last {
                httpPort = UInt16(portText) ?? 0
            }
            if args.contains("--rtsp-listen"), !args.contains("off"),
               let rtsp = try waitForLog(containing: "rtsp viewers: rtsp://", timeout: 5),
               let rest = rtsp.components(separatedBy: "rtsp://").dropFirst().first,
               let portText = rest.split(separator: "/").first?.split(separator: ":").last {
                rtspPort = UInt16(portText) ?? 0
            }
        }
    }

    public var pid: Int32 { process.processIdentifier }

    /// camd's GET /state, parsed; nil if it did not answer with a JSON object.
    public func state() -> [String: Any]? {
        guard let answer = try? httpExchange(port: httpPort, "GET /state HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n"),
              let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().first else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits for a log line containing `text`; returns the line, or nil after `timeout` seconds.
    public func waitForLog(containing text: String, timeout: Double) throws -> String? {
        var line: String?
        _ = waitUntil(timeout: timeout) {
            // Read after the exit check, so the last lines of a camd that just exited are seen too.
            let exited = !process.isRunning
            line = log.split(separator: "\n").first { $0.contains(text) }.map(String.init)
            return line != nil || exited
        }
        return line
    }

    /// Sends SIGTERM and waits up to `timeout` seconds; returns the exit status, or nil if it did not exit.
    @discardableResult
    public func stop(timeout: Double = 5) -> Int32? {
        if process.isRunning { kill(pid, SIGTERM) }
        return waitForExit(timeout: timeout)
    }

    public func waitForExit(timeout: Double) -> Int32? {
        guard waitUntil(timeout: timeout, interval: 0.01, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    public func terminate() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// CPU time (user + system) the process has used, in seconds, from /proc/PID/stat.
    public var cpuSeconds: Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Fields after the command: state is [0], utime is [11], stime is [12].
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident set size in KiB (VmRSS from /proc).
    public var residentKiB: Int { ProcStatus.value("VmRSS", pid: pid) ?? 0 }

    deinit {
        terminate()
        try? FileManager.default.removeItem(atPath: logPath)
        try? FileManager.default.removeItem(atPath: controlSocket)
    }
}

public enum ProcStatus {
    /// A "Key:   123 kB" value from /proc/PID/status.
    public static func value(_ key: String, pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "")
        }
        return nil
    }
}

/// Runs a short-lived command and collects its exit status and output.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

public func runCommand(_ path: String, _ arguments: [String], timeout: Double = 30,
                       environment: [String: String]? = nil, input: String? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = NSTemporaryDirectory() + "cmd-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: out + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: out + ".err", contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: out + ".out")
        try? FileManager.default.removeItem(atPath: out + ".err")
    }
    process.standardOutput = FileHandle(forWritingAtPath: out + ".out")
    process.standardError = FileHandle(forWritingAtPath: out + ".err")
    if let input {
        _ = FileManager.default.createFile(atPath: out + ".in", contents: Data(input.utf8))
        process.standardInput = FileHandle(forReadingAtPath: out + ".in")
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    defer { try? FileManager.default.removeItem(atPath: out + ".in") }
    try process.run()
    if !waitUntil(timeout: timeout, interval: 0.01, { !process.isRunning }) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw TestFailure("\(path) \(arguments) did not finish within \(timeout) s")
    }
    return CommandResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOfFile: out + ".out", encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "")
}

/// Finds an executable on PATH.
public func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// Runs camview as a script would: no display in its environment (so it never opens a window because the
/// developer running the tests has one), stdin not a terminal.
public func runCamview(_ arguments: [String], timeout: Double = 30, environment extra: [String: String] = [:]) throws -> CommandResult {
    var environment = ProcessInfo.processInfo.environment
    environment["DISPLAY"] = nil
    environment["WAYLAND_DISPLAY"] = nil
    environment.merge(extra) { $1 }
    return try runCommand(Binaries.path("camview"), arguments, timeout: timeout, environment: environment)
}

extension CamdProcess {
    /// GET /snapshot with curl until it answers 200 (within `timeout` seconds), as bytes.
    public func curlSnapshot(timeout: Double) throws -> [UInt8] {
        let path = NSTemporaryDirectory() + "camd-snapshot-\(UUID().uuidString).jpg"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var status = ""
        _ = try waitUntil(timeout: timeout, interval: 0.1) {
            let result = try runCommand("/usr/bin/curl", ["-s", "--max-time", "3", "-o", path, "-w", "%{http_code}",
                                                          "http://127.0.0.1:\(httpPort)/snapshot"], timeout: 5)
            status = result.stdout
            return status == "200"
        }
        guard status == "200" else { throw TestFailure("GET /snapshot answered \(status)") }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
