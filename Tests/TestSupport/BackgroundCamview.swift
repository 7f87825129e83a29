// BackgroundCamview: camview running beside a test (a window, a long --stats run) with its output in files.
import Foundation

public final class BackgroundCamview: @unchecked Sendable {
    public let process = Process()
    private let outputPath = NSTemporaryDirectory() + "camview-\(UUID().uuidString)"

    /// Starts camview with `arguments`; `environment` replaces the test's (default: PATH only, so no display — and,
    /// under scripts/sanitize.sh, the sanitizer's settings).
    public init(_ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"].merging(Sanitizer.environment) { $1 }) throws {
        process.executableURL = URL(fileURLWithPath: Binaries.path("camview"))
        process.arguments = arguments
        process.environment = environment
        _ = FileManager.default.createFile(atPath: outputPath + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: outputPath + ".err", contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: outputPath + ".out")
        process.standardError = FileHandle(forWritingAtPath: outputPath + ".err")
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var stdout: String { (try? String(contentsOfFile: outputPath + ".out", encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: outputPath + ".err", encoding: .utf8)) ?? "" }
    public var output: String { stdout + stderr }

    /// Waits until stdout, past its first `offset` characters, contains `text`; false after `timeout` seconds.
    public func waitForOutput(containing text: String, after offset: Int = 0, timeout: Double) -> Bool {
        _ = waitUntil(timeout: timeout, interval: 0.05) { String(stdout.dropFirst(offset)).contains(text) || !process.isRunning }
        return String(stdout.dropFirst(offset)).contains(text)
    }

    /// The exit status, or nil if camview is still running after `timeout` seconds.
    public func waitForExit(timeout: Double) -> Int32? {
        waitUntil(timeout: timeout, interval: 0.01, { !process.isRunning }) ? process.terminationStatus : nil
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: outputPath + ".out")
        try? FileManager.default.removeItem(atPath: outputPath + ".err")
    }
}
