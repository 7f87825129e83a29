// DaemonNetworkSource: a network source (camd://, http://, http+snapshot://) built from the config.
import Capture
import Logging
import Settings
import Upstream

extension Daemon {
    /// The upstream's frames, turned by rotate/flip when asked (re-encoded only then). device_timeout and
    /// device_retry_max mean for an upstream what they mean for a camera.
    static func makeNetworkSource(_ url: UpstreamURL, config: Config, logger: Logger) throws(SourceError) -> any FrameSource {
        var settings = NetworkSourceSettings(url: url)
        settings.fps = config.fps
        settings.timeout = config.deviceTimeout
        settings.retryMax = config.deviceRetryMax
        settings.width = config.width
        settings.height = config.height
        settings.quality = config.quality
        let source: NetworkSource
        do { source = try NetworkSource(settings: settings, logger: logger) } catch { throw SourceError("\(url): \(error)") }
        return try TurnedSource.turning(source, by: config.orientation, logger: logger)
    }
}
