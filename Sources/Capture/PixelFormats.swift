// PixelFormats: the camera formats camd takes — by `format` name and fourcc — and the order `format = auto` tries them in.
import JPEG

extension FourCC {
    /// A fourcc from its four ASCII letters ("NV12").
    init(_ code: StaticString) {
        precondition(code.utf8CodeUnitCount == 4, "a fourcc has four letters")
        let bytes = UnsafeBufferPointer(start: code.utf8Start, count: 4)
        self.init(bytes.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
    }

    public static let uyvy = FourCC("UYVY")
    public static let yvyu = FourCC("YVYU")
    public static let nv12 = FourCC("NV12")
    public static let nv21 = FourCC("NV21")
    public static let nv16 = FourCC("NV16")
    public static let yu12 = FourCC("YU12")
    public static let yv12 = FourCC("YV12")
    public static let grey = FourCC("GREY")
    public static let rgb24 = FourCC("RGB3")
    public static let bgr24 = FourCC("BGR3")
    public static let rgb565 = FourCC("RGBP")
    public static let sbggr8 = FourCC("BA81")
    public static let sgbrg8 = FourCC("GBRG")
    public static let sgrbg8 = FourCC("GRBG")
    public static let srggb8 = FourCC("RGGB")
    /// V4L2_PIX_FMT_H264: Annex-B access units, one per buffer (UVC cameras with an H.264 encoder).
    public static let h264 = FourCC("H264")

    /// camd converts frames of this format to planar YUV itself (MJPEG is not converted: it is passed through).
    public var isConvertible: Bool { PlanarImage.layout(converting: rawValue) != nil }

    /// camd can stream this format: passed through (MJPEG/JPEG) or converted.
    public var isUsable: Bool { isJPEG || isConvertible }

    /// How camd treats the format, for --list-formats and the log ("converted, 4:2:0").
    public var treatment: String {
        if isJPEG { return "passed through" }
        if self == .h264 { return "passed through to RTSP and decoded for JPEG viewers, only with format = \"h264\"" }
        switch PlanarImage.layout(converting: rawValue) {
        case .gray: return "encoded by camd (greyscale)"
        case .s420: return "encoded by camd (4:2:0)"
        case .s422: return "encoded by camd (4:2:2)"
        case .s444: return "encoded by camd (4:4:4)"
        case nil: return "not usable by camd (no converter for this format)"
        }
    }
}

extension PixelFormatPreference {
    /// The fourccs this name asks the driver for, in order (empty for `auto`, which is decided by `choose`).
    public var fourccs: [FourCC] {
        switch self {
        case .auto: []
        case .mjpeg: [.mjpeg, .jpeg]
        case .yuyv: [.yuyv]
        case .uyvy: [.uyvy]
        case .yvyu: [.yvyu]
        case .nv12: [.nv12]
        case .nv21: [.nv21]
        case .nv16: [.nv16]
        case .yu12: [.yu12]
        case .yv12: [.yv12]
        case .grey: [.grey]
        case .rgb24: [.rgb24]
        case .bgr24: [.bgr24]
        case .rgb565: [.rgb565]
        case .ba81: [.sbggr8]
        case .gbrg: [.sgbrg8]
        case .grbg: [.sgrbg8]
        case .rggb: [.srggb8]
        case .h264: [.h264]
        }
    }

    /// `format = auto`'s order, cheapest per frame first. The camera's own JPEG needs no encode at all. Then what is
    /// already libjpeg's planar 4:2:0 (YU12/YV12: plane copies; NV12/NV21: the chroma deinterleaved), which also has
    /// the least chroma to encode; then 4:2:2 (a third more samples to encode, packed ones deinterleaved); then RGB
    /// and Bayer (a colour conversion per pixel). GREY comes last although it is the cheapest: a camera that offers
    /// colour at all should not be streamed grey behind the operator's back, so GREY is chosen only when nothing
    /// else is offered (a monochrome camera) or when `format = grey` asks for it.
    /// H.264 is never here: a camera's own H.264 has its own GOP and bitrate, which camd cannot control (a viewer
    /// joining mid-GOP waits for the camera's next IDR), and every picture costs a decode for MJPEG viewers; only
    /// `format = "h264"` takes it.
    public static let autoOrder: [FourCC] = [.mjpeg, .jpeg, .yu12, .yv12, .nv12, .nv21, .nv16, .yuyv, .uyvy, .yvyu,
                                             .rgb24, .bgr24, .rgb565, .sbggr8, .sgbrg8, .sgrbg8, .srggb8, .grey]

    /// The format camd asks the driver for, given what it lists: under `auto` the first of `autoOrder` the device has
    /// natively, then (only if it has none) one libv4l2 emulates — libv4l2 converts in software, always slower than
    /// the device's own format; otherwise the named format, native or emulated. A device that lists nothing gets
    /// the first candidate tried anyway. nil: nothing usable.
    public func choose(from offered: [FormatListing]) -> FourCC? {
        if offered.isEmpty { return self == .auto ? .mjpeg : fourccs.first }
        let candidates = self == .auto ? Self.autoOrder : fourccs
        let native = Set(offered.filter { !$0.emulated }.map(\.fourcc)), all = Set(offered.map(\.fourcc))
        return candidates.first { native.contains($0) } ?? candidates.first { all.contains($0) }
    }
}

extension V4L2Source {
    /// A raw frame as planes, turned as `orientation` says; nil for a short or unconvertible frame (counted invalid).
    /// Reads stay within the driver's `sizeimage` as well as `bytesused`.
    func rawPicture(_ raw: UnsafeRawBufferPointer, format: NegotiatedFormat) -> PlanarImage? {
        let bounded = format.sizeImage > 0 ? UnsafeRawBufferPointer(rebasing: raw.prefix(format.sizeImage)) : raw
        return try? PlanarImage(converting: bounded, fourcc: format.pixelFormat.rawValue, width: format.width,
                                height: format.height, bytesPerLine: format.bytesPerLine, transform: settings.orientation.transform)
    }
}

extension V4L2Device {
    /// A raw format the driver set must be one camd can convert at that size, and its buffers (`sizeimage`) must hold
    /// a whole frame at the stride it reported: otherwise every frame would be thrown away as short, so the camera
    /// is refused at open with the reason instead.
    func checkRawFrames(_ format: NegotiatedFormat) throws(V4L2Error) {
        let name = format.pixelFormat.description
        guard let needed = PlanarImage.frameBytes(fourcc: format.pixelFormat.rawValue, width: format.width,
                                                  height: format.height, bytesPerLine: format.bytesPerLine) else {
            throw V4L2Error(path, "the driver set \(format.width)x\(format.height) \(name), a size camd cannot convert "
                            + "(each side 1-16384, even where the format pairs pixels)")
        }
        if format.sizeImage > 0 && format.sizeImage < needed {
            throw V4L2Error(path, "the driver's \(format.width)x\(format.height) \(name) frames are \(format.sizeImage) bytes "
                            + "(sizeimage), but \(format.bytesPerLine) bytes per line need \(needed)")
        }
    }
}

extension CameraListing {
    /// The --list-formats line that says which format camd would ask for, and what the listed ones cost.
    static func choice(_ preference: PixelFormatPreference, _ formats: [FormatListing], note: String?) -> String {
        let asked = "format = \"\(preference.rawValue)\"" + (note.map { " (\($0))" } ?? "")
        guard let chosen = preference.choose(from: formats) else {
            return "  camd would use: nothing — \(asked) matches no usable format here\n"
        }
        let unusable = formats.filter { !$0.fourcc.isUsable && $0.fourcc != .h264 }.map { "'\($0.fourcc)'" }
        return "  camd would use: '\(chosen)' under \(asked)"
            + (formats.isEmpty ? " (the device lists no formats: asked for anyway)" : "") + "\n"
            + (unusable.isEmpty ? "" : "  camd cannot use: \(unusable.joined(separator: ", "))\n")
    }
}
