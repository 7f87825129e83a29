// H264EncoderSettings: the checks on each value, even sizes, and the VBV buffer.
import H264Encoding
import Testing

struct H264EncoderSettingsTests {
    @Test func defaultsAreTheIssues() {
        let settings = H264EncoderSettings(fps: 30, width: 1280, height: 720)
        #expect(settings.encoder == .auto && settings.bitrate == 2_000_000 && settings.gop == 30)
        #expect(settings.problem == nil)
        // Half a second of the bitrate: 15 frames' worth at 30 fps.
        #expect(settings.vbvBufferBits == 1_000_000)
    }

    @Test func oddSizesEncodeOnePixelSmaller() {
        let settings = H264EncoderSettings(fps: 30, width: 641, height: 481)
        #expect(settings.encodedWidth == 640 && settings.encodedHeight == 480)
    }

    @Test func eachValueOutOfRangeIsNamed() {
        func problem(_ change: (inout H264EncoderSettings) -> Void) -> String? {
            var settings = H264EncoderSettings(fps: 30, width: 640, height: 480)
            change(&settings)
            return settings.problem
        }
        #expect(problem { $0.width = 15 }?.contains("below 16x16") == true)
        #expect(problem { $0.height = 9000 }?.contains("above 8192") == true)
        #expect(problem { $0.fps = 0 }?.hasPrefix("fps 0") == true)
        #expect(problem { $0.bitrate = 1000 }?.hasPrefix("bitrate 1000") == true)
        #expect(problem { $0.gop = 0 }?.hasPrefix("gop 0") == true)
    }

    @Test func choicesParseFromTheirConfigNames() {
        #expect(H264EncoderSettings.Choice.allCases.map(\.rawValue) == ["auto", "v4l2m2m", "vaapi", "libx264"])
        #expect(H264EncoderSettings.Choice(rawValue: "x265") == nil)
    }
}
