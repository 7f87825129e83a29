// ConfigMapping: the one place where Settings' plain values become what Capture and Streaming take.
import Capture
#if !CAMD_NO_H264
import H264Encoding
#endif
import Settings
import Streaming

extension StreamSettings {
    /// What the stream server applies to viewers: limits, timeouts, socket caps and HTTP access
    /// (http_auth and http_token).
    init(_ config: Config) {
        self.init(maxClients: config.maxClients, maxClientsPerAddress: config.maxClientsPerIP,
                  clientTimeoutNanos: UInt64(config.clientTimeout * 1e9),
                  sendLowWatermark: config.sendLowWatermark, sendBuffer: config.sendBuffer,
                  requestTimeoutNanos: UInt64(config.requestTimeout * 1e9),
                  access: HTTPAccessPolicy(basic: config.httpBasic, token: config.httpToken.isEmpty ? nil : config.httpToken),
                  allowOrigins: config.httpAllowOrigin)
        trustedProxies = config.trustedProxies
    }
}

extension Config {
    /// idle_after as the capture's demand counts it (0 = never idle).
    var idleAfterNanos: UInt64 { UInt64(idleAfter * 1e9) }
}

extension V4L2Settings {
    /// The camera at `path` opened with the configured format, size, rate, quality, buffers, timeouts and controls.
    init(path: String, config: Config) {
        self.init(path: path)
        // The two enums name the same formats (Settings cannot see Capture's); a test checks every case maps.
        format = PixelFormatPreference(rawValue: config.format.rawValue) ?? .auto
        width = config.width
        height = config.height
        fps = config.fps
        quality = config.quality
        bufferCount = config.buffers
        deviceTimeout = config.deviceTimeout
        retryMax = config.deviceRetryMax
        controls = config.controls
        orientation = config.orientation
        // format = "h264": the camera's H.264 is decoded for JPEG viewers by libavcodec (H264Encoding).
        #if !CAMD_NO_H264
        makeH264Decoder = H264DecoderFactory { try H264Decoder() }
        #endif
    }
}
