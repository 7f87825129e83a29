// WindowGeometry: where the picture goes in the window, and how large to decode it — pure arithmetic, no SDL.
import JPEG

/// A rectangle in output pixels.
struct WindowRect: Equatable {
    var x, y, width, height: Int
}

enum WindowGeometry {
    /// The largest rectangle with the picture's aspect ratio, centred in `width`×`height` (black bars fill the rest).
    static func letterbox(picture: JPEGInfo, in width: Int, _ height: Int) -> WindowRect {
        guard picture.width > 0, picture.height > 0, width > 0, height > 0 else {
            return WindowRect(x: 0, y: 0, width: max(0, width), height: max(0, height))
        }
        var fitted = (width: width, height: height)
        if picture.width * height > picture.height * width {
            fitted.height = max(1, (width * picture.height + picture.width / 2) / picture.width)
        } else {
            fitted.width = max(1, (height * picture.width + picture.height / 2) / picture.height)
        }
        return WindowRect(x: (width - fitted.width) / 2, y: (height - fitted.height) / 2,
                          width: fitted.width, height: fitted.height)
    }

    /// The size to decode `picture` at to fill `target`: the smallest of libturbojpeg's n/8 reductions that still
    /// covers it (decoding a 1080p stream into a small window at 1/2 or 1/4 is several times cheaper), else full size.
    /// Never larger than the picture: scaling up is the renderer's job.
    static func decodeSize(_ picture: JPEGInfo, covering target: WindowRect) -> JPEGInfo {
        for eighths in 1..<8 {
            let width = (picture.width * eighths + 7) / 8
            let height = (picture.height * eighths + 7) / 8
            guard width >= target.width, height >= target.height else { continue }
            let size = JPEGDecoder.scaledSize(picture, fitting: width, height)
            if size.width >= target.width, size.height >= target.height { return size }
        }
        return picture
    }
}
