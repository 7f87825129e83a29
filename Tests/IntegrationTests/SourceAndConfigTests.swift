// The built camd: file replay on the wire, and config errors from the command line and the file.
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

private func jpeg(red: UInt8, green: UInt8, blue: UInt8) throws -> [UInt8] {
    let width = 64, height = 48
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for i in 0..<(width * height) { pixels[i * 3] = red; pixels[i * 3 + 1] = green; pixels[i * 3 + 2] = blue }
    let encoder = try JPEGEncoder(quality: 85)
    return try pixels.withUnsafeBytes { try encoder.encode(rgb: $0, width: width, height: height) }
}

extension CamdIntegrationTests {
    @Test func fileSourceSendsTheFilesBytesUnchangedAtTheConfiguredRate() throws {
        let frames = [try jpeg(red: 200, green: 0, blue: 0), try jpeg(red: 0, green: 200, blue: 0), try jpeg(red: 0, green: 0, blue: 200)]
        let path = NSTemporaryDirectory() + "camd-it-\(UUID().uuidString).mjpeg"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Junk and a truncated image between the good ones are skipped.
        let contents = frames[0] + Array("junk".utf8) + frames[1] + Array(frames[2].prefix(40)) + frames[2]
        _ = FileManager.default.createFile(atPath: path, contents: Data(contents))
        let camd = try CamdProcess(["--source", "file:\(path)", "--fps", "20"])
        let client = try NativeTestClient(port: camd.port)
        let received = try (0..<13).map { _ in try client.readFrame() }
        // After the first frame, each is the next image of the file, in a loop.
        let start = frames.firstIndex(of: received[0].payload)
        #expect(start != nil, "the first payload is not one of the file's images byte for byte")
        for (offset, frame) in received.enumerated() {
            #expect(frame.payload == frames[((start ?? 0) + offset) % 3])
            #expect(frame.header.width == 64 && frame.header.height == 48)
        }
        let span = Double(received.last!.header.timestampNanos - received[1].header.timestampNanos) / 1e9
        let interval = span / 11
        #expect(abs(interval - 0.05) < 0.01, "frames were \(interval) s apart at 20 fps")
        #expect(camd.stop() == 0)
    }

    @Test(arguments: [
        (["--fps", "0"], "fps = 0"),
        (["--quality", "best"], "quality = \"best\""),
        (["--width", "15"], "width = 15"),
        (["--max-clients", "0"], "max_clients = 0"),
        (["--client-timeout", "0"], "client_timeout = 0"),
        (["--listen", "localhost"], "listen = [\"localhost\"]"),
        (["--source", "file:/no/such.mjpeg"], "source = \"file:/no/such.mjpeg\""),
        (["--log-level", "chatty"], "log_level = \"chatty\""),
        (["--config", "/no/such/camd.toml"], "config file = \"/no/such/camd.toml\""),
    ])
    func badSettingsExit78WithOneLineNamingTheKey(arguments: [String], expected: String) throws {
        let result = try runCommand(Binaries.path("camd"), arguments, timeout: 10)
        #expect(result.status == 78, "camd \(arguments) exited \(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(result.stderr)")
        #expect(lines.first?.hasPrefix("camd: config error: \(expected)") == true, "got: \(result.stderr)")
    }

    @Test func aBadKeyInTheConfigFileExits78NamingIt() throws {
        let path = NSTemporaryDirectory() + "camd-it-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data("fps = 30\nquality = 0\n".utf8))
        let result = try runCommand(Binaries.path("camd"), ["--config", path], timeout: 10)
        #expect(result.status == 78)
        #expect(result.stderr == "camd: config error: quality = 0: must be an integer from 1 to 100\n")
        // A flag overrides the file, and --check-config validates without starting.
        let fixed = try runCommand(Binaries.path("camd"), ["--config", path, "--quality", "70", "--check-config"], timeout: 10)
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains("quality=70"))
    }

    @Test(arguments: [
        ("fps = 30\n[\n", "TOML syntax: FILE line 2, column 2: expected a key, found end of line"),
        ("[[[x]]]\n", "TOML syntax: FILE line 1, column 3: expected a key, found '['"),
        ("fps = 30\nfps = 31\n", "TOML syntax: FILE line 2, column 1:"),
        ("title = \"a\u{1B}]0;owned\u{07}\"\n", "TOML syntax: FILE line 1, column 11: control character '\\u{1b}'"),
        ("\u{FF}\n", "TOML syntax: FILE line 1, column 1: invalid UTF-8"),
        ("source = \"v4l2:/dev/\\u001b[31m\"\n", "source = \"v4l2:/dev/\\u001B[31m\": must not contain control characters"),
    ])
    func aTOMLSlipIsOneLineWithFileLineAndColumnAndExit78(text: String, expected: String) throws {
        let path = NSTemporaryDirectory() + "camd-it-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Written as bytes: one case is not UTF-8 on purpose.
        let bytes = text == "\u{FF}\n" ? [0xFF, 0x0A] : Array(text.utf8)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        for arguments in [["--config", path, "--check-config"], ["--config", path]] {
            let result = try runCommand(Binaries.path("camd"), arguments, timeout: 10)
            #expect(result.status == 78, "\(arguments): exit \(result.status): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 2 && lines[1].isEmpty, "one line: \(result.stderr)")
            let want = "camd: config error: " + expected.replacingOccurrences(of: "FILE", with: path)
            #expect(result.stderr.hasPrefix(want), "got: \(result.stderr)\nwant: \(want)")
            #expect(!result.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "escaped: \(result.stderr)")
        }
    }

    @Test func aPortInUseIsAClearErrorNotAConfigError() throws {
        let first = try CamdProcess([])
        let result = try runCommand(Binaries.path("camd"), ["--listen", "127.0.0.1:\(first.port)"], timeout: 10)
        #expect(result.status == 1)
        #expect(result.stderr.contains("127.0.0.1:\(first.port)") && result.stderr.contains("Address already in use"), "\(result.stderr)")
        #expect(first.stop() == 0)
    }
}
