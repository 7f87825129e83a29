// Orientation: how a camera's picture is turned before it is published (`rotate`, `flip`).

/// `flip` (a mirror) is applied to the camera's picture first, then `rotation` clockwise: a camera mounted upside
/// down is `rotate = 180`; one seen through a mirror is `flip = "horizontal"`.
public struct Orientation: Equatable, Hashable, Sendable, CustomStringConvertible {
    public enum Rotation: Int, Sendable, CaseIterable {
        case none = 0, clockwise90 = 90, half = 180, clockwise270 = 270
    }

    public enum Flip: String, Sendable, CaseIterable {
        case none, horizontal, vertical
    }

    /// The eight ways a rectangle can be turned, named as libturbojpeg's lossless transforms (TJXOP_*) name them.
    /// Each maps a source pixel (x, y) of a W×H picture to the output:
    public enum Transform: Sendable, CaseIterable {
        /// (x, y)
        case identity
        /// (W-1-x, y)
        case flipHorizontal
        /// (x, H-1-y)
        case flipVertical
        /// (y, x): the output is H×W
        case transpose
        /// (H-1-y, W-1-x): the output is H×W
        case transverse
        /// (H-1-y, x): the output is H×W
        case rotate90
        /// (W-1-x, H-1-y)
        case rotate180
        /// (y, W-1-x): the output is H×W
        case rotate270

        /// Width and height trade places.
        public var swapsAxes: Bool {
            switch self {
            case .transpose, .transverse, .rotate90, .rotate270: true
            case .identity, .flipHorizontal, .flipVertical, .rotate180: false
            }
        }
    }

    public var rotation: Rotation
    public var flip: Flip

    public init(rotation: Rotation = .none, flip: Flip = .none) {
        self.rotation = rotation
        self.flip = flip
    }

    public static let identity = Orientation()

    /// The one transform that flip-then-rotate amounts to.
    public var transform: Transform {
        switch (flip, rotation) {
        case (.none, .none): .identity
        case (.none, .clockwise90): .rotate90
        case (.none, .half): .rotate180
        case (.none, .clockwise270): .rotate270
        case (.horizontal, .none): .flipHorizontal
        case (.horizontal, .clockwise90): .transverse
        case (.horizontal, .half): .flipVertical
        case (.horizontal, .clockwise270): .transpose
        case (.vertical, .none): .flipVertical
        case (.vertical, .clockwise90): .transpose
        case (.vertical, .half): .flipHorizontal
        case (.vertical, .clockwise270): .transverse
        }
    }

    /// The published size of a `width`×`height` camera picture.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        transform.swapsAxes ? (height, width) : (width, height)
    }

    public var description: String { "rotate \(rotation.rawValue), flip \(flip.rawValue)" }
}
