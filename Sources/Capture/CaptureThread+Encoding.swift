// CaptureThread+Encoding: how a numbered picture gets from the source to `publish` — through the encoder pool, which
// encodes raw pictures on its workers and hands every frame (ready or encoded) back in capture order.
import CamdSystem
import Frames
import JPEG
import Logging
import Locking

/// A frame numbered by the capture thread, on its way to the ring.
struct PendingFrame: Sendable {
    var sequence: UInt64
    var picture: SourceFrame
    var fallbackTimestamp: UInt64
}

/// What `publish` carries from one frame to the next.
struct PublishState {
    var rate = RateMeter()
}

extension CaptureThread {
    /// The pool for one run of the capture: `workers` threads with a JPEG encoder each (4:2:2 settings; a planar
    /// picture is encoded at its own layout), publishing into `ring`.
    func makeEncoderPool(workers: Int, ring: FrameRing, logger: Logger,
                         published: @escaping @Sendable () -> Void) throws(SystemError) -> EncoderPool<PendingFrame> {
        // The failure last logged: the same one again is not logged once per frame.
        let loggedFailure = LockedValue<String?>(nil)
        return try EncoderPool<PendingFrame>(workers: workers, makeEncoder: { () throws -> sending any PictureEncoder in
            try JPEGEncoder(quality: 80, subsampling: .s422)
        }, publish: { [self] pending, outcome in
            var pending = pending
            switch outcome {
            case .ready:
                break
            case .encoded(let jpeg, let nanos):
                pending.picture.payload = jpeg
                pending.picture.encodeNanos = nanos
            case .failed(let message):
                countEncodeFailure()
                let first = loggedFailure.withLock { logged -> Bool in
                    defer { logged = message }
                    return logged != message
                }
                if first { logger.error("capture: frame \(pending.sequence) not published: \(message)") }
                return
            }
            publish(pending, ring: ring, published: published)
        })
    }

    /// Numbers `picture` into the pool: a raw one to be encoded by a worker, anything else to be published once the
    /// frames before it are.
    /// `keepRaw` (an H.264 encoder runs): the raw picture also stays on the frame, for the encoder to read.
    func submit(_ picture: SourceFrame, sequence: UInt64, fallbackTimestamp: UInt64, pool: EncoderPool<PendingFrame>,
                keepRaw: Bool = false) {
        var pending = PendingFrame(sequence: sequence, picture: picture, fallbackTimestamp: fallbackTimestamp)
        // The raw picture goes to the pool alone: a frame waiting for its turn holds only its JPEG (unless the H.264
        // encoder wants it; the picture is immutable once converted, so the JPEG worker and the encoder share it).
        if !keepRaw { pending.picture.unencoded = nil }
        let dropped = pool.submit(pending, encoding: picture.unencoded?.image, quality: picture.unencoded?.quality ?? 80)
        if dropped > 0 { countEncoderDrop(dropped) }
    }
}
