// Settings' plain values as capture and streaming take them: one mapping each, every field carried over.
import Capture
@testable import Service
import Settings
import Streaming
import Testing

struct ConfigMappingTests {
    @Test func streamSettingsCarryTheLimitsTimeoutsSocketCapsAndHTTPAccess() throws {
        var config = Config()
        config.maxClients = 7
        config.clientTimeout = 2.5
        config.requestTimeout = 0.5
        config.sendLowWatermark = 4096
        config.sendBuffer = 8192
        #expect(StreamSettings(config) == StreamSettings(maxClients: 7, clientTimeoutNanos: 2_500_000_000, sendLowWatermark: 4096,
                                                         sendBuffer: 8192, requestTimeoutNanos: 500_000_000, access: .open))
        config.httpAuth = "admin:$6$salt$hash"
        config.httpToken = "abcdefghijklmnop"
        let access = StreamSettings(config).access
        #expect(access.basic?.user == "admin" && access.basic?.hash == "$6$salt$hash" && access.token == "abcdefghijklmnop")
        config.httpAuth = ""
        #expect(StreamSettings(config).access == HTTPAccessPolicy(basic: nil, token: "abcdefghijklmnop"))
    }

    @Test func v4l2SettingsCarryEveryCameraKey() {
        var config = Config()
        config.format = .yuyv
        config.width = 1280
        config.height = 720
        config.fps = 12.5
        config.quality = 90
        config.buffers = 6
        config.deviceTimeout = 3
        config.deviceRetryMax = 9
        config.controls = ["brightness": 128]
        var expected = V4L2Settings(path: "/dev/video3")
        expected.format = .yuyv
        expected.width = 1280
        expected.height = 720
        expected.fps = 12.5
        expected.quality = 90
        expected.bufferCount = 6
        expected.deviceTimeout = 3
        expected.retryMax = 9
        expected.controls = ["brightness": 128]
        #expect(V4L2Settings(path: "/dev/video3", config: config) == expected)
        for (format, preference) in [(CameraFormat.auto, PixelFormatPreference.auto), (.mjpeg, .mjpeg), (.yuyv, .yuyv)] {
            config.format = format
            #expect(V4L2Settings(path: "/dev/video3", config: config).format == preference)
        }
        // Every name the config accepts reaches capture as the same format (the two enums are kept in step by hand).
        #expect(CameraFormat.allCases.map(\.rawValue) == PixelFormatPreference.allCases.map(\.rawValue))
        for format in CameraFormat.allCases {
            config.format = format
            #expect(V4L2Settings(path: "/dev/video3", config: config).format.rawValue == format.rawValue)
        }
    }
}
