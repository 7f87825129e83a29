// The built camd under a real systemd-journald: entries read back with journalctl -o json carry camd's fields.
import CamdSystem
import Foundation
import Testing
import TestSupport

/// A systemd-journald of its own: journal namespace "camdtest", started in a private mount namespace whose /run is
/// a tmpfs, with its sockets and journal files bind-mounted from a temporary directory. The system journal (its
/// sockets, /run/log/journal, /var/log/journal) is never touched, and a namespaced journald reads neither
/// /dev/kmsg nor audit. Everything goes away with the process and the directory.
final class PrivateJournald: @unchecked Sendable {
    static let journald = "/lib/systemd/systemd-journald"
    static let namespace = "camdtest"

    /// Everything a private journald needs from the packages (systemd, util-linux, coreutils).
    static let installed = FileManager.default.isExecutableFile(atPath: journald)
        && ["journalctl", "systemd-cat", "unshare", "stat"].allSatisfy { which($0) != nil }

    /// Installed, root, a machine id, and mount namespaces allowed (not the case in an unprivileged container).
    static let runnable: Bool = {
        guard installed, geteuid() == 0,
              let id = try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8), id.count >= 32,
              let probe = try? runCommand(which("unshare")!, ["--mount", "--propagation", "private",
                                                             "mount", "-t", "tmpfs", "tmpfs", "/run"], timeout: 10)
        else { return false }
        return probe.status == 0
    }()

    let directory = NSTemporaryDirectory() + "camd-journald-\(UUID().uuidString)"
    var sockets: String { directory + "/sockets" }
    let process = Process()

    init() throws {
        for sub in ["sockets", "run", "var"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        // A namespaced journald keeps its files in /var/log/journal/<machine-id>.camdtest if /var/log/journal exists,
        // else under /run/log/journal: both are covered.
        let script = """
            set -e
            mount -t tmpfs tmpfs /run
            mkdir -p /run/systemd/journal.\(Self.namespace) /run/log/journal
            mount --bind "$1/sockets" /run/systemd/journal.\(Self.namespace)
            mount --bind "$1/run" /run/log/journal
            if [ -d /var/log/journal ]; then mount --bind "$1/var" /var/log/journal; fi
            exec \(Self.journald) \(Self.namespace)
            """
        process.executableURL = URL(fileURLWithPath: which("unshare")!)
        process.arguments = ["--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", directory]
        let output = directory + "/journald.log"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: output)
        try process.run()
        func listening() -> Bool {
            FileManager.default.fileExists(atPath: sockets + "/socket") && FileManager.default.fileExists(atPath: sockets + "/stdout")
        }
        _ = waitUntil(timeout: 10) { listening() || !process.isRunning }
        guard listening() else {
            stop()
            throw TestFailure("systemd-journald did not start: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
        }
    }

    /// Runs a program the way systemd runs a service with StandardError=journal: in a mount namespace where
    /// /run/systemd/journal is this journald, stdout and stderr connected to its stream socket (systemd-cat, as
    /// identifier `streamIdentifier`), and JOURNAL_STREAM set to that socket's device:inode. A `CamdProcess` wrapper.
    func serviceWrapper(streamIdentifier: String) -> [String] {
        let script = """
            set -e
            mount -t tmpfs tmpfs /run
            mkdir -p /run/systemd/journal
            mount --bind "$1" /run/systemd/journal
            shift
            exec systemd-cat -t \(streamIdentifier) /bin/sh -c \
                'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) && export JOURNAL_STREAM && exec "$@"' sh "$@"
            """
        return [which("unshare")!, "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", sockets]
    }

    /// All entries so far, as journalctl -o json prints them (multi-valued or binary fields left out).
    func entries() throws -> [[String: String]] {
        let candidates = [directory + "/var", directory + "/run"].flatMap { base in
            ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
                .filter { $0.hasSuffix("." + Self.namespace) }.map { base + "/" + $0 }
        }
        guard let journalDirectory = candidates.first else { return [] }
        let result = try runCommand(which("journalctl")!, ["--directory", journalDirectory, "-o", "json", "--no-pager"],
                                    timeout: 10)
        return result.stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return object.compactMapValues { $0 as? String }
        }
    }

    /// Waits up to `timeout` seconds for an entry for which `matches` holds.
    func waitForEntry(timeout: Double, _ matches: ([String: String]) -> Bool) throws -> [String: String]? {
        var entry: [String: String]?
        _ = try waitUntil(timeout: timeout, interval: 0.1) {
            entry = try entries().first(where: matches)
            return entry != nil
        }
        return entry
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            if !waitUntil(timeout: 5, interval: 0.01, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension CamdIntegrationTests {
    @Test(.enabled(if: PrivateJournald.runnable
                   || ProcessInfo.processInfo.environment["CI"] != nil && !PrivateJournald.installed,
                   "needs root, mount namespaces and systemd-journald (Debian: systemd)"),
          .timeLimit(.minutes(1)))
    func whenStderrIsTheJournalEachEventIsAStructuredEntry() throws {
        let journal = try PrivateJournald()
        let camd = try CamdProcess(["--source", "testpattern", "--width", "160", "--height", "120", "--fps", "5",
                                    "--listen", "127.0.0.1:0", "--http-listen", "off"],
                                   listen: false, wrapper: journal.serviceWrapper(streamIdentifier: "camd-stderr"))
        func camdEntry(containing text: String) throws -> [String: String]? {
            try journal.waitForEntry(timeout: 10) { $0["SYSLOG_IDENTIFIER"] == "camd" && $0["MESSAGE"]?.contains(text) == true }
        }

        let started = try #require(try camdEntry(containing: "native viewers: tcp://"),
                                   "no start-up entry; camd's own output:\n\(camd.log)")
        #expect(started["_TRANSPORT"] == "journal", "sent with sd_journal_sendv, not written to the stream")
        #expect(started["PRIORITY"] == "6")
        #expect(started["_PID"] == "\(camd.pid)")
        #expect(started["CODE_FILE"]?.hasSuffix(".swift") == true)
        #expect(Int(started["CODE_LINE"] ?? "") != nil)
        #expect(started["CODE_FUNC"]?.isEmpty == false)

        let port = try #require(started["MESSAGE"]?.split(separator: ":").last.flatMap { UInt16($0) })
        let viewer = try NativeTestClient(port: port)
        _ = try viewer.readFrame()
        let connected = try #require(try camdEntry(containing: "connected: 127.0.0.1:"))
        #expect(connected["PRIORITY"] == "6")
        #expect(connected["CODE_FILE"]?.hasSuffix("StreamServer+Connections.swift") == true)
        #expect(connected["CAMD_EVENT"] == "client_connect")
        #expect(connected["CAMD_CLIENT"]?.hasPrefix("127.0.0.1:") == true && connected["CAMD_PROTOCOL"] == "native")
        viewer.close()
        let left = try #require(try camdEntry(containing: "disconnected: 127.0.0.1:"))
        #expect(left["CAMD_EVENT"] == "client_disconnect" && left["CAMD_FRAMES_SENT"].flatMap { Int($0) } ?? 0 >= 1, "\(left)")

        #expect(camd.stop() == 0)
        #expect(try camdEntry(containing: "camd stopped:") != nil)
        // Nothing went to the stream as well: no plain duplicate of any line.
        let streamed = try journal.entries().filter { $0["SYSLOG_IDENTIFIER"] == "camd-stderr" }
        #expect(streamed.isEmpty, "written to stderr too: \(streamed.compactMap { $0["MESSAGE"] })")
    }
}
