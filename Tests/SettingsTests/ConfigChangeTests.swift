// Reload's plan without a daemon: which keys changed, how each applies, and the lines reload reports.
import CamdSystem
import Settings
import Testing

struct ConfigChangeTests {
    private func camera(_ path: String = "/dev/video0") -> Config {
        var config = Config()
        config.source = .v4l2(path: path)
        return config
    }

    @Test func noChangeIsAnEmptyPlan() {
        let change = ConfigChange(old: Config(), new: Config())
        #expect(change.isEmpty && change.liveChanges.isEmpty && change.captureChanges.isEmpty && change.restartNeeded.isEmpty)
        #expect(!change.restartsCapture && !change.adjustsCapture && change.rebinds.isEmpty)
        #expect(change.running == Config())
    }

    @Test func liveSettingsChangeAtOnceWithOneLineEach() {
        var new = Config()
        new.maxClients = 100
        new.clientTimeout = 4
        new.requestTimeout = 2.5
        new.sendLowWatermark = 16384
        new.sendBuffer = 8192
        new.statsInterval = 0
        let change = ConfigChange(old: Config(), new: new)
        #expect(change.keys == [.live: ["request_timeout", "max_clients", "client_timeout", "send_lowat", "send_buffer", "stats_interval"]])
        #expect(change.liveChanges == ["request_timeout 5 → 2.5", "max_clients 512 → 100", "client_timeout 10 → 4",
                                       "send_lowat 65536 → 16384", "send_buffer 0 → 8192", "stats_interval 60 → 0"])
        #expect(change.running == new && !change.restartsCapture && !change.adjustsCapture && change.restartNeeded.isEmpty)
    }

    @Test func httpAccessIsReportedWithoutItsSecrets() {
        var basic = Config()
        basic.httpAuth = "admin:$6$salt$hash"
        let opened = ConfigChange(old: Config(), new: basic)
        #expect(opened.liveChanges == ["http_access open → basic"])
        var both = basic
        both.httpToken = "abcdefghijklmnop"
        #expect(ConfigChange(old: basic, new: both).liveChanges == ["http_access basic → basic+token"])
        // Other secrets, same kind of access: the line says so without showing either.
        var other = both
        other.httpAuth = "admin:$6$salt$other"
        other.httpToken = "ponmlkjihgfedcba"
        let rotated = ConfigChange(old: both, new: other)
        #expect(rotated.liveChanges == ["http credentials changed"])
        #expect(!rotated.liveChanges.joined().contains("$6$") && !rotated.liveChanges.joined().contains("ponm"))
    }

    @Test func fpsAndQualityAdjustAClockPacedSourceInPlace() {
        var new = Config()
        new.fps = 10
        new.quality = 90
        let change = ConfigChange(old: Config(), new: new)
        #expect(change.adjustsCapture && !change.restartsCapture)
        #expect(change.captureChanges == ["fps 30 → 10", "quality 80 → 90"])
    }

    @Test func fpsReopensACameraButQualityDoesNot() {
        var faster = camera()
        faster.fps = 10
        let reopen = ConfigChange(old: camera(), new: faster)
        #expect(reopen.restartsCapture && !reopen.adjustsCapture)
        #expect(reopen.captureChanges == ["capture restarted: source=v4l2:/dev/video0 640x480 fps=10"])
        var better = camera()
        better.quality = 95
        let adjust = ConfigChange(old: camera(), new: better)
        #expect(adjust.adjustsCapture && !adjust.restartsCapture && adjust.captureChanges == ["quality 80 → 95"])
    }

    @Test func sourceKeysRestartCaptureWithOneLineForTheNewSource() {
        var new = camera("/dev/video1")
        new.width = 1280
        new.height = 720
        new.format = .mjpeg
        new.buffers = 2
        new.deviceTimeout = 1
        new.deviceRetryMax = 9
        new.controls = ["brightness": 1]
        new.quality = 50
        let change = ConfigChange(old: Config(), new: new)
        #expect(change.keys[.captureRestart] == ["source", "width", "height", "format", "buffers", "device_timeout", "device_retry_max", "controls"])
        #expect(change.restartsCapture && !change.adjustsCapture)
        // quality goes to the new source with everything else: no line of its own.
        #expect(change.captureChanges == ["capture restarted: source=v4l2:/dev/video1 1280x720 fps=30"])
    }

    @Test func listenersAreReboundUnlessSystemdPassedTheSockets() throws {
        var new = Config()
        new.listen = [try SocketAddress(parsing: "127.0.0.1:7000")]
        new.httpListen = []
        let rebound = ConfigChange(old: Config(), new: new)
        #expect(rebound.rebinds == ["listen", "http_listen"] && rebound.restartNeeded.isEmpty && rebound.running == new)
        // Lines for rebinding come from the daemon, which knows the addresses it really bound.
        #expect(rebound.liveChanges.isEmpty && rebound.captureChanges.isEmpty)

        let activated = ConfigChange(old: Config(), new: new, systemdListeners: ["http_listen"])
        #expect(activated.rebinds == ["listen"])
        #expect(activated.restartNeeded == ["http_listen (its sockets come from systemd)"])
        #expect(activated.running.httpListen == Config().httpListen && activated.running.listen == new.listen)
    }

    @Test func keysThatNeedARestartKeepTheirRunningValues() {
        var new = Config()
        new.logLevel = .debug
        new.ringSize = 8
        new.controlSocket = ""
        new.controlGroup = "video"
        new.maxClients = 3
        let change = ConfigChange(old: Config(), new: new)
        #expect(change.restartNeeded == ["ring_size", "log_level", "control_socket", "control_group"])
        #expect(change.keys == [.live: ["max_clients"]])
        var expected = Config()
        expected.maxClients = 3
        #expect(change.running == expected)
        // Back to the running values: nothing left to say.
        #expect(ConfigChange(old: change.running, new: expected).isEmpty)
    }
}
