// CameraFormat: what the operator asks of a camera with `format = …` (Service maps it to Capture's preference).

/// `auto`, `mjpeg`, or a raw format by its lower-case fourcc-style name. Also accepted, and shown by their
/// canonical name: `i420` for `yu12`, `gray` for `grey`, `bggr` for `ba81` (8-bit Bayer BGGR), `H264` for `h264`.
/// `h264` takes the camera's own H.264 (passed through to RTSP viewers, decoded for JPEG ones); `auto` never does.
public enum CameraFormat: String, Sendable, CaseIterable {
    case auto, mjpeg, yuyv, uyvy, yvyu, nv12, nv21, nv16, yu12, yv12, grey, rgb24, bgr24, rgb565, ba81, gbrg, grbg, rggb, h264

    /// Other names people use for the same formats.
    public static let aliases: [String: CameraFormat] = ["i420": .yu12, "gray": .grey, "bggr": .ba81, "H264": .h264]

    public init?(rawValue: String) {
        switch rawValue {
        case "auto": self = .auto
        case "mjpeg": self = .mjpeg
        case "yuyv": self = .yuyv
        case "uyvy": self = .uyvy
        case "yvyu": self = .yvyu
        case "nv12": self = .nv12
        case "nv21": self = .nv21
        case "nv16": self = .nv16
        case "yu12": self = .yu12
        case "yv12": self = .yv12
        case "grey": self = .grey
        case "rgb24": self = .rgb24
        case "bgr24": self = .bgr24
        case "rgb565": self = .rgb565
        case "ba81": self = .ba81
        case "gbrg": self = .gbrg
        case "grbg": self = .grbg
        case "rggb": self = .rggb
        case "h264": self = .h264
        default:
            guard let alias = Self.aliases[rawValue] else { return nil }
            self = alias
        }
    }
}
