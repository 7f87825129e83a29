// TEMPORARY (lead's stub, replaced by H264Pipeline.swift from branch i16-pipeline): encodes synchronously in offer().
import Frames
import H264
import JPEG
import Locking
import Logging

public struct H264PipelineSettings: Sendable, Equatable {
    public var encoder: H264EncoderSettings.Choice
    public var bitrate: Int
    public var gop: Int
    public var fps: Double
    public init(encoder: H264EncoderSettings.Choice = .auto, bitrate: Int = 2_000_000, gop: Int = 30, fps: Double = 30) {
        self.encoder = encoder
        self.bitrate = bitrate
        self.gop = gop
        self.fps = fps
    }
}

public struct H264PipelineSnapshot: Sendable, Equatable {
    public var running = false
    public var codec: String?
    public var hardware = false
    public var passthrough = false
    public var width = 0, height = 0
    public var profile: String?
    public var framesIn: UInt64 = 0, framesDropped: UInt64 = 0, unitsOut: UInt64 = 0, keyframes: UInt64 = 0
    public var forcedKeyframes: UInt64 = 0, failures: UInt64 = 0, bytesOut: UInt64 = 0
    public var bitrate: Double = 0
    public var encodeP50Nanos: UInt64 = 0, encodeP99Nanos: UInt64 = 0
    public var lastError: String?
}

public final class H264Pipeline: @unchecked Sendable {
    private struct State {
        var settings: H264PipelineSettings
        var running = false
        var encoder: H264Encoder?
        var decoder: PlanarJPEGDecoder?
        var snapshot = H264PipelineSnapshot()
        var keyframe = false
    }
    private let state: LockedValue<State>
    private let ring: AccessUnitRing
    private let demand: CaptureDemand?
    private let logger: Logger
    private let published: @Sendable () -> Void

    public init(settings: H264PipelineSettings, ring: AccessUnitRing, demand: CaptureDemand?, logger: Logger,
                published: @escaping @Sendable () -> Void) {
        state = LockedValue(State(settings: settings))
        self.ring = ring
        self.demand = demand
        self.logger = logger
        self.published = published
    }

    public func setRunning(_ running: Bool) {
        state.withLock { s in
            s.running = running
            s.snapshot.running = running
            if !running { s.encoder = nil }
        }
        demand?.setWantsRawPictures(running)
    }

    public func offer(_ frame: Frame) {
        let units: [EncodedAccessUnit]? = state.withLock { s in
            guard s.running else { return nil }
            do {
                let image: PlanarImage
                if let raw = frame.rawPicture as? PlanarImage { image = raw } else {
                    if s.decoder == nil { s.decoder = try PlanarJPEGDecoder() }
                    image = try frame.payload.withUnsafeBytes { (raw) throws(JPEGError) in try s.decoder!.decode(raw) }
                }
                if s.encoder == nil || s.encoder!.settings.width != image.width || s.encoder!.settings.height != image.height {
                    s.encoder = try H264Encoder(settings: H264EncoderSettings(encoder: s.settings.encoder, bitrate: s.settings.bitrate, gop: s.settings.gop,
                                                                              fps: Int(s.settings.fps.rounded()), width: image.width, height: image.height), logger: logger)
                }
                if s.keyframe { s.encoder!.requestKeyframe(); s.keyframe = false }
                return try s.encoder!.encode(image, sequence: frame.sequence, timestampNanos: frame.timestampNanos)
            } catch {
                s.snapshot.lastError = "\(error)"
                return nil
            }
        }
        guard let units, !units.isEmpty else { return }
        for unit in units {
            let sets = unit.parameterSets
            ring.publish(unit.carryingParameterSets(), info: sets.map { AccessUnitRing.StreamInfo(parameterSets: $0, width: frame.width & ~1, height: frame.height & ~1, fps: 30) })
        }
        published()
    }

    public func requestKeyframe() { state.withLock { $0.keyframe = true } }
    public func update(_ settings: H264PipelineSettings) { state.withLock { $0.settings = settings; $0.encoder = nil } }
    public var snapshot: H264PipelineSnapshot { state.withLock { $0.snapshot } }
}
