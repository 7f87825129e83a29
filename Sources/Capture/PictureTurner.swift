// PictureTurner: `rotate` and `flip` for sources that deliver JPEGs (MJPEG cameras, the test pattern, file
// replay) — libturbojpeg's lossless transform, no decode and re-encode.
import JPEG
import Logging

/// Turns each JPEG a source publishes; the identity passes frames through untouched. NO SIGNAL placeholders are
/// never turned (their text stays readable). One thread at a time (the capture thread).
public final class PictureTurner {
    public let orientation: Orientation
    private let transformer: JPEGTransformer?
    private let logger: Logger?
    /// The last input and output sizes seen, so a trimmed size is logged once per camera size, not per frame.
    private var loggedSizes: (Int, Int, Int, Int)?

    public init(_ orientation: Orientation, logger: Logger? = nil) throws(JPEGError) {
        self.orientation = orientation
        self.logger = logger
        transformer = orientation.transform == .identity ? nil : try JPEGTransformer()
    }

    /// `frame` turned, its width and height the turned JPEG's own; nil if libturbojpeg cannot read the JPEG
    /// (the caller counts it invalid).
    public func turn(_ frame: SourceFrame) -> SourceFrame? {
        guard let transformer, !frame.isPlaceholder else { return frame }
        guard let turned = try? transformer.transform(frame.payload, orientation.transform) else { return nil }
        let expected = orientation.outputSize(width: frame.width, height: frame.height)
        if turned.width != expected.width || turned.height != expected.height,
           loggedSizes.map({ $0 != (frame.width, frame.height, turned.width, turned.height) }) ?? true {
            loggedSizes = (frame.width, frame.height, turned.width, turned.height)
            logger?.notice("\(orientation): \(frame.width)x\(frame.height) JPEG published as \(turned.width)x\(turned.height): the lossless transform trims the partial 8- or 16-pixel blocks at the edge it would move (see README, Rotation and flips)",
                           metadata: ["camd_event": "picture_trimmed"])
        }
        var out = frame
        out.payload = turned.jpeg
        out.width = turned.width
        out.height = turned.height
        return out
    }
}

/// A JPEG source (the test pattern, file replay) whose pictures are turned: a user trying a configuration
/// without the camera sees the rotation the camera will get.
public final class TurnedSource: FrameSource {
    private let source: any FrameSource
    private let turner: PictureTurner
    private var failed: UInt64 = 0

    /// `source` itself when `orientation` is the identity.
    public static func turning(_ source: any FrameSource, by orientation: Orientation,
                               logger: Logger) throws(SourceError) -> any FrameSource {
        guard orientation.transform != .identity else { return source }
        do {
            return TurnedSource(source, turner: try PictureTurner(orientation, logger: logger))
        } catch {
            throw SourceError("\(source.name): \(error)")
        }
    }

    private init(_ source: any FrameSource, turner: PictureTurner) {
        self.source = source
        self.turner = turner
    }

    public var name: String { source.name }
    public var invalidFrames: UInt64 { source.invalidFrames + failed }
    public var pacing: SourcePacing { source.pacing }
    public var status: SourceStatus { source.status }

    public func nextFrame(index: UInt64, timestampNanos: UInt64) throws(SourceError) -> SourceFrame? {
        guard let frame = try source.nextFrame(index: index, timestampNanos: timestampNanos) else { return nil }
        guard let turned = turner.turn(frame) else {
            failed += 1
            return nil
        }
        return turned
    }

    public func setQuality(_ quality: Int) { source.setQuality(quality) }
    public func close() { source.close() }
    public func idle(stopCamera: Bool) -> IdlePass { source.idle(stopCamera: stopCamera) }
}
