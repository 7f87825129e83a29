// The key table: every key's flag, help line, default, live-settability and how a change applies.
import CamdSystem
import Foundation
@testable import Settings
import Testing

private var packageRoot: String {
    var url = URL(fileURLWithPath: #filePath)
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
    return url.path
}

struct ConfigKeyTests {
    @Test func theTableListsTheKeysInTheOrderTheShippedFileDocumentsThem() throws {
        let text = try String(contentsOfFile: packageRoot + "/config/camd.toml", encoding: .utf8)
        let documented = text.split(separator: "\n").compactMap { line -> String? in
            guard let equals = line.range(of: " = "), line.first?.isLetter == true else { return nil }
            return String(line[..<equals.lowerBound])
        }
        #expect(documented == ConfigKey.all.map(\.name))
        #expect(Set(ConfigKey.all.map(\.name)).count == ConfigKey.all.count)
    }

    @Test func helpLinesNameTheKeyAndItsDefault() throws {
        func help(_ name: String) throws -> String { try #require(ConfigKey.named(name)).flagHelp }
        #expect(try help("fps") == "Frames per second, 0.1-240 (fps; default 30).")
        #expect(try help("listen") == "Native protocol listen address, repeatable (listen; default 0.0.0.0:9999).")
        #expect(try help("http_listen") == "HTTP listen address, repeatable (http_listen; default 0.0.0.0:8080; \"off\" disables).")
        #expect(try help("send_buffer") == "SO_SNDBUF per viewer socket in bytes (send_buffer; default 0 = kernel autotuning).")
        #expect(try help("log_level") == "trace, debug, info, notice, warning, error or critical (log_level; default info).")
        #expect(try help("controls") == "A camera control set at open, repeatable (controls; e.g. --control brightness=128).")
        #expect(try help("control_socket") == "The control socket's path, \"\" for none (control_socket; default /run/camd/control).")
        #expect(try help("control_group") == "Group that may use the control socket (control_group; default none).")
    }

    @Test func everyKeyButTheSecretsHasAFlagNamedAfterIt() {
        for key in ConfigKey.all {
            if key.isSecret {
                #expect(key.flag == nil, "\(key.name): a secret on the command line shows in ps")
            } else {
                let expected = key.name == "controls" ? "control" : key.name.replacingOccurrences(of: "_", with: "-")
                #expect(key.flag?.name == expected, "\(key.name)")
            }
        }
        #expect(ConfigKey.all.filter(\.isSecret).map(\.name) == ["http_auth", "http_token"])
    }

    @Test func flagTextsAreReadAsTheKeyTakesThem() throws {
        func flag(_ name: String) throws -> ConfigFlag { try #require(ConfigKey.named(name)?.flag) }
        #expect(try flag("fps").value(["12.5"]) == .float(12.5))
        #expect(try flag("width").value(["640"]) == .integer(640))
        #expect(try flag("source").value(["30"]) == .string("30"))
        #expect(try flag("listen").value(["127.0.0.1:1", "[::1]:2"]) == .list([.string("127.0.0.1:1"), .string("[::1]:2")]))
        #expect(try flag("listen").value(["off"]) == .list([.string("off")]))
        #expect(try flag("http_listen").value(["off"]) == .list([]))
        #expect(try flag("controls").value(["brightness=128", "auto=true", "gain"])
            == .table(["brightness": .integer(128), "auto": .bool(true), "gain": .string("")]))
        // A control without a name is the key's error to report, not a trap.
        #expect(try flag("controls").value(["", "=5"]) == .table(["": .integer(5)]))
        #expect(throws: ConfigError.self) { try ConfigLoader.build([:], overrides: [("controls", .table(["": .integer(5)]))]) }
    }

    @Test func onlyFpsQualityIdlingTheViewerLimitsAndClientTimeoutCanBeSetLive() {
        #expect(ConfigKey.settableLive.map(\.name) == ["fps", "quality", "idle_after", "idle_camera", "max_clients", "max_clients_per_ip",
                                                       "client_timeout", "rotate", "flip", "drop_same_frames"])
        #expect(ConfigKey.notSettableLive("source")
            == "source cannot be set live; settable: fps, quality, idle_after, idle_camera, max_clients, max_clients_per_ip, client_timeout, rotate, flip, drop_same_frames (edit the config file and reload for the others)")
    }

    @Test func valuesAreShownAsReloadAndCamctlSetSayThem() throws {
        var config = Config()
        config.fps = 12.5
        config.httpToken = "abcdefghijklmnop"
        func shown(_ name: String) throws -> String { try #require(ConfigKey.named(name)).value(in: config) }
        #expect(try shown("fps") == "12.5" && shown("quality") == "80" && shown("client_timeout") == "10")
        #expect(try shown("source") == "testpattern" && shown("listen") == "0.0.0.0:9999" && shown("format") == "auto")
        #expect(try shown("http_token") == "set" && shown("http_auth") == "off")
    }

    @Test func fpsRestartsACameraButAdjustsAClockPacedSource() throws {
        let fps = try #require(ConfigKey.named("fps"))
        var camera = Config()
        camera.source = .v4l2(path: "/dev/video0")
        #expect(fps.applies(with: Config()) == .captureAdjust)
        #expect(fps.applies(with: camera) == .captureRestart)
        #expect(try #require(ConfigKey.named("quality")).applies(with: camera) == .captureAdjust)
    }

    @Test func eachKeyAppliesTheWayTheREADMESays() {
        var byApply: [ConfigApply: [String]] = [:]
        for key in ConfigKey.all { byApply[key.applies, default: []].append(key.name) }
        #expect(byApply[.live] == ["h264_encoder", "h264_bitrate", "h264_gop", "request_timeout", "http_auth", "http_token", "http_allow_origin", "trusted_proxies", "idle_after", "idle_camera",
                                   "max_clients", "max_clients_per_ip",
                                   "client_timeout", "send_lowat", "send_buffer", "stats_interval", "drop_same_frames"])
        #expect(byApply[.captureAdjust] == ["fps", "quality"])
        #expect(byApply[.captureRestart] == ["source", "width", "height", "rotate", "flip", "format", "buffers", "encode_workers",
                                             "device_timeout", "device_retry_max", "controls"])
        #expect(byApply[.listeners] == ["listen", "http_listen", "rtsp_listen"])
        #expect(byApply[.nextStart] == ["ring_size", "log_level", "control_socket", "control_group"])
    }
}
