// PictureMapping: `rotate` and `flip` as the Orientation that Capture and the JPEG transform take.
import JPEG
import Settings

extension Config {
    /// flip first, then rotate (clockwise).
    var orientation: Orientation {
        let flip: Orientation.Flip
        switch self.flip {
        case .none: flip = .none
        case .horizontal: flip = .horizontal
        case .vertical: flip = .vertical
        }
        return Orientation(rotation: Orientation.Rotation(rawValue: rotate) ?? .none, flip: flip)
    }
}
