// V4L2Device: one camera opened through libv4l2 — capabilities, format negotiation, mmap streaming.
// Every VIDIOC call goes through `xioctl`; the mmap'd buffers are owned here and unmapped in `close`.
#if canImport(Glibc)
import Glibc
#endif
internal import CV4L2
import CamdSystem

public struct V4L2Error: Error, CustomStringConvertible, Sendable {
    public let device: String
    public let message: String
    public let errno: Int32

    init(_ device: String, _ message: String, errno: Int32 = 0) {
        self.device = device
        self.message = message
        self.errno = errno
    }

    /// A failed call on the device: the message is the call and the kernel's words ("VIDIOC_DQBUF: No such device").
    init(_ device: String, _ error: SystemError) {
        self.init(device, error.description, errno: error.errno)
    }

    public var description: String { "\(device): \(message)" }

    /// A short, stable name for the kind of failure (the journal's CAMD_REASON): a change of reason is what
    /// an operator needs to see, not every retry.
    public var reason: String {
        switch errno {
        case ENOENT, ENODEV, ENXIO: "no_device"
        case EACCES, EPERM: "permission"
        case EBUSY: "busy"
        case EIO: "io_error"
        case ETIMEDOUT: "timeout"
        case ENOLINK: "no_signal"
        case ENOLCK: "unstable_signal"
        case ERANGE: "out_of_range"
        case 0: "unsupported"
        default: "error"
        }
    }
}

/// What the operator asks for with `format = …`: `auto`, or a format by its lower-case fourcc-style name
/// (PixelFormats.swift maps each to its fourcc and orders them for `auto`). `h264` is the camera's own H.264, taken
/// only when named (never by `auto`).
public enum PixelFormatPreference: String, Sendable, CaseIterable {
    case auto, mjpeg, yuyv, uyvy, yvyu, nv12, nv21, nv16, yu12, yv12, grey, rgb24, bgr24, rgb565, ba81, gbrg, grbg, rggb, h264
}

/// A fourcc such as MJPG or YUYV.
public struct FourCC: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static let mjpeg = FourCC(CV4L2_PIX_FMT_MJPEG)
    public static let jpeg = FourCC(CV4L2_PIX_FMT_JPEG)
    public static let yuyv = FourCC(CV4L2_PIX_FMT_YUYV)
    public var isJPEG: Bool { self == .mjpeg || self == .jpeg }
    public var description: String {
        LogText.escaped(String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: rawValue >> ($0 * 8)) }, as: UTF8.self))
    }
}

/// What the device agreed to, which may differ from what was asked.
public struct NegotiatedFormat: Equatable, Sendable, CustomStringConvertible {
    public var pixelFormat: FourCC
    public var width: Int
    public var height: Int
    public var bytesPerLine: Int
    public var fps: Double
    /// The driver's bytes per frame (0 if it gave none): a raw frame is read only within it and `bytesused`.
    public var sizeImage = 0
    public var description: String { "\(width)x\(height) \(pixelFormat) \(Format.fixed(fps, 1, bareWhole: true)) fps" }
}

/// One entry of `camd --list-formats`.
public struct FormatListing: Sendable {
    public var fourcc: FourCC
    public var description: String
    public var sizes: [(width: Int, height: Int, fps: [Double])]
    /// libv4l2 converts to this format in software (V4L2_FMT_FLAG_EMULATED): the device does not deliver it.
    public var emulated = false
}

/// A dequeued buffer: valid until `requeue`.
public struct DequeuedBuffer {
    public let index: Int
    public let bytesUsed: Int
    /// CLOCK_REALTIME nanoseconds of capture (the driver's timestamp, converted), or nil if the driver gave none.
    public let timestampNanos: UInt64?
    public let flaggedError: Bool
    /// The driver's frame count: a jump of more than one means it lost frames (no buffer queued, a busy bus).
    public let sequence: UInt32
}

public final class V4L2Device {
    public let path: String
    public let driver: String
    public let card: String
    public let busInfo: String
    /// The open descriptor (-1 once closed); internal so that extensions in other files (DV timings, events) can
    /// make their own VIDIOC calls through `xioctl`.
    var fd: Int32
    private var buffers: [(start: UnsafeMutableRawPointer, length: Int)] = []
    private var streaming = false
    /// What was negotiated; a DV input's rate is set from its timings (V4L2Device+DVTimings.swift).
    public internal(set) var format: NegotiatedFormat?
    /// A V4L2_EVENT_SOURCE_CHANGE arrived (a DV input's timings moved): `dequeue` returns nil until the caller has
    /// renegotiated (`stopStreaming`, new timings and format, `startStreaming`) and cleared it.
    public internal(set) var sourceChangePending = false

    /// Opens and checks the device: it must exist, be readable, capture video and support streaming.
    public init(path: String) throws(V4L2Error) {
        self.path = path
        let fd = cv4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let err = errno
            switch err {
            case ENOENT: throw V4L2Error(path, "no such device (is the camera plugged in?)", errno: err)
            case EACCES, EPERM: throw V4L2Error(path, DeviceDiagnosis.permissionMessage(path: path), errno: err)
            case EBUSY: throw V4L2Error(path, "device busy: " + DeviceDiagnosis.busyMessage(path: path, ownFD: nil), errno: err)
            default: throw V4L2Error(path, SystemError("cannot open", errno: err))
            }
        }
        self.fd = fd
        var cap = v4l2_capability()
        if cv4l2_ioctl(fd, CV4L2_VIDIOC_QUERYCAP, &cap) < 0 {
            let err = errno
            _ = v4l2_close(fd)
            self.fd = -1
            throw V4L2Error(path, "not a V4L2 device (\(SystemError("VIDIOC_QUERYCAP", errno: err)))", errno: err)
        }
        // The driver's words reach logs, /state and --list-formats: escaped like any outside bytes.
        driver = LogText.escaped(Self.string(cap.driver))
        card = LogText.escaped(Self.string(cap.card))
        busInfo = LogText.escaped(Self.string(cap.bus_info))
        let caps = cap.capabilities & CV4L2_CAP_DEVICE_CAPS != 0 ? cap.device_caps : cap.capabilities
        if caps & CV4L2_CAP_VIDEO_CAPTURE == 0 {
            _ = v4l2_close(fd)
            self.fd = -1
            throw V4L2Error(path, "not a video capture device (\(card), driver \(driver))")
        }
        if caps & CV4L2_CAP_STREAMING == 0 {
            _ = v4l2_close(fd)
            self.fd = -1
            throw V4L2Error(path, "the device does not support streaming I/O (\(card), driver \(driver))")
        }
    }

    deinit { close() }

    private static func string<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Every VIDIOC call: retried on EINTR, errors carry the request's name and errno.
    @discardableResult
    func xioctl<T>(_ request: UInt, _ name: String, _ argument: inout T) throws(V4L2Error) -> Int32 {
        while true {
            let rc = withUnsafeMutableBytes(of: &argument) { cv4l2_ioctl(fd, request, $0.baseAddress) }
            if rc >= 0 { return rc }
            let err = errno
            if err == EINTR { continue }
            if err == EBUSY {
                // Say who holds the camera rather than send the operator hunting (and never blame another
                // program for a handle of camd's own).
                throw V4L2Error(path, "\(name): device busy: \(DeviceDiagnosis.busyMessage(path: path, ownFD: fd))", errno: err)
            }
            throw V4L2Error(path, SystemError(name, errno: err))
        }
    }

    // MARK: Formats

    public func listFormats() -> [FormatListing] {
        var result: [FormatListing] = []
        var index: UInt32 = 0
        while true {
            var desc = v4l2_fmtdesc()
            desc.index = index
            desc.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            guard (try? xioctl(CV4L2_VIDIOC_ENUM_FMT, "VIDIOC_ENUM_FMT", &desc)) != nil else { break }
            let fourcc = FourCC(desc.pixelformat)
            result.append(FormatListing(fourcc: fourcc, description: LogText.escaped(Self.string(desc.description)), sizes: frameSizes(fourcc),
                                        emulated: desc.flags & CV4L2_FMT_FLAG_EMULATED != 0))
            index += 1
        }
        return result
    }

    private func frameSizes(_ fourcc: FourCC) -> [(width: Int, height: Int, fps: [Double])] {
        var sizes: [(width: Int, height: Int, fps: [Double])] = []
        var index: UInt32 = 0
        while true {
            var size = v4l2_frmsizeenum()
            size.index = index
            size.pixel_format = fourcc.rawValue
            guard (try? xioctl(CV4L2_VIDIOC_ENUM_FRAMESIZES, "VIDIOC_ENUM_FRAMESIZES", &size)) != nil else { break }
            if size.type == CV4L2_FRMSIZE_TYPE_DISCRETE {
                let w = Int(size.discrete.width), h = Int(size.discrete.height)
                sizes.append((w, h, frameRates(fourcc, width: w, height: h)))
            } else {
                let w = Int(size.stepwise.max_width), h = Int(size.stepwise.max_height)
                sizes.append((w, h, frameRates(fourcc, width: w, height: h)))
                break
            }
            index += 1
        }
        return sizes
    }

    private func frameRates(_ fourcc: FourCC, width: Int, height: Int) -> [Double] {
        var rates: [Double] = []
        var index: UInt32 = 0
        while true {
            var interval = v4l2_frmivalenum()
            interval.index = index
            interval.pixel_format = fourcc.rawValue
            interval.width = UInt32(width)
            interval.height = UInt32(height)
            guard (try? xioctl(CV4L2_VIDIOC_ENUM_FRAMEINTERVALS, "VIDIOC_ENUM_FRAMEINTERVALS", &interval)) != nil,
                  interval.type == CV4L2_FRMIVAL_TYPE_DISCRETE else { break }
            if interval.discrete.numerator > 0 {
                rates.append(Double(interval.discrete.denominator) / Double(interval.discrete.numerator))
            }
            index += 1
        }
        return rates
    }

    /// Chooses the pixel format (the camera's own MJPEG first under `.auto`, then the cheapest to convert; see
    /// PixelFormats.swift), asks for the size and frame rate, and records what the driver actually set.
    public func negotiate(_ preference: PixelFormatPreference, width: Int, height: Int, fps: Double) throws(V4L2Error) -> NegotiatedFormat {
        let offered = listFormats()
        guard let chosen = preference.choose(from: offered) else {
            let list = offered.map { $0.fourcc.description + ($0.emulated ? " (emulated)" : "") }.joined(separator: ", ")
            throw V4L2Error(path, "no usable pixel format for format = \"\(preference.rawValue)\" (the device offers: \(list); "
                            + "camd takes MJPEG and \(PixelFormatPreference.autoOrder.filter(\.isConvertible).map(\.description).joined(separator: ", ")))")
        }
        var fmt = v4l2_format()
        fmt.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        fmt.fmt.pix.width = UInt32(width)
        fmt.fmt.pix.height = UInt32(height)
        fmt.fmt.pix.pixelformat = chosen.rawValue
        fmt.fmt.pix.field = CV4L2_FIELD_ANY
        try xioctl(CV4L2_VIDIOC_S_FMT, "VIDIOC_S_FMT", &fmt)
        let got = FourCC(fmt.fmt.pix.pixelformat)
        // The camera's H.264 only when it was asked for: a driver falling back to it for another request is refused.
        guard got.isUsable || (got == .h264 && chosen == .h264) else {
            throw V4L2Error(path, "the driver chose \(got) instead of \(chosen), and camd has no converter for \(got)")
        }
        var parm = v4l2_streamparm()
        parm.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        var actualFPS = fps
        if (try? xioctl(CV4L2_VIDIOC_G_PARM, "VIDIOC_G_PARM", &parm)) != nil,
           parm.parm.capture.capability & CV4L2_CAP_TIMEPERFRAME != 0 {
            parm.parm.capture.timeperframe.numerator = 1000
            parm.parm.capture.timeperframe.denominator = UInt32((fps * 1000).rounded())
            try xioctl(CV4L2_VIDIOC_S_PARM, "VIDIOC_S_PARM", &parm)
            let t = parm.parm.capture.timeperframe
            if t.numerator > 0 && t.denominator > 0 { actualFPS = Double(t.denominator) / Double(t.numerator) }
        }
        let negotiated = NegotiatedFormat(pixelFormat: got, width: Int(fmt.fmt.pix.width), height: Int(fmt.fmt.pix.height),
                                          bytesPerLine: Int(fmt.fmt.pix.bytesperline), fps: actualFPS,
                                          sizeImage: Int(fmt.fmt.pix.sizeimage))
        if !got.isJPEG && got != .h264 { try checkRawFrames(negotiated) }
        format = negotiated
        return negotiated
    }

    // MARK: Controls

    /// The device's controls by lower-case, underscored name ("brightness", "white_balance_temperature").
    public func controls() -> [String: (id: UInt32, minimum: Int, maximum: Int)] {
        var result: [String: (id: UInt32, minimum: Int, maximum: Int)] = [:]
        var query = v4l2_queryctrl()
        query.id = CV4L2_CTRL_FLAG_NEXT_CTRL
        while cv4l2_ioctl(fd, CV4L2_VIDIOC_QUERYCTRL, &query) == 0 {
            if query.flags & CV4L2_CTRL_FLAG_DISABLED == 0, query.type == CV4L2_CTRL_TYPE_INTEGER
                || query.type == CV4L2_CTRL_TYPE_BOOLEAN || query.type == CV4L2_CTRL_TYPE_MENU {
                result[Self.controlName(Self.string(query.name))] = (query.id, Int(query.minimum), Int(query.maximum))
            }
            query.id |= CV4L2_CTRL_FLAG_NEXT_CTRL
        }
        return result
    }

    static func controlName(_ name: String) -> String {
        var out = ""
        for ch in name.lowercased() {
            if ch.isLetter || ch.isNumber { out.append(ch) } else if !out.hasSuffix("_") { out.append("_") }
        }
        while out.hasSuffix("_") { out.removeLast() }
        return out
    }

    /// Applies `values` with VIDIOC_S_CTRL; an unknown name is an error listing the device's controls.
    public func apply(controls values: [String: Int]) throws(V4L2Error) -> [String] {
        guard !values.isEmpty else { return [] }
        let available = controls()
        var applied: [String] = []
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let control = available[name] else {
                let names = available.keys.sorted().joined(separator: ", ")
                throw V4L2Error(path, "unknown control '\(name)' (this device has: \(names.isEmpty ? "none" : names))")
            }
            guard (control.minimum...control.maximum).contains(value) else {
                throw V4L2Error(path, "control \(name) = \(value) is outside \(control.minimum)...\(control.maximum)")
            }
            var ctrl = v4l2_control(id: control.id, value: Int32(value))
            try xioctl(CV4L2_VIDIOC_S_CTRL, "VIDIOC_S_CTRL \(name)", &ctrl)
            applied.append("\(name)=\(value)")
        }
        return applied
    }

    // MARK: Streaming

    /// Requests, maps and queues `count` buffers, then starts streaming.
    public func startStreaming(bufferCount: Int) throws(V4L2Error) {
        var request = v4l2_requestbuffers()
        request.count = UInt32(bufferCount)
        request.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        request.memory = CV4L2_MEMORY_MMAP
        try xioctl(CV4L2_VIDIOC_REQBUFS, "VIDIOC_REQBUFS", &request)
        guard request.count >= 1 else { throw V4L2Error(path, "the driver granted no buffers") }
        for index in 0..<request.count {
            var buffer = v4l2_buffer()
            buffer.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            buffer.memory = CV4L2_MEMORY_MMAP
            buffer.index = index
            try xioctl(CV4L2_VIDIOC_QUERYBUF, "VIDIOC_QUERYBUF", &buffer)
            let length = Int(buffer.length)
            guard let start = v4l2_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, Int64(buffer.m.offset)),
                  start != MAP_FAILED else {
                throw V4L2Error(path, SystemError("mmap of buffer \(index)", errno: errno))
            }
            buffers.append((start, length))
            try xioctl(CV4L2_VIDIOC_QBUF, "VIDIOC_QBUF", &buffer)
        }
        var type = Int32(CV4L2_BUF_TYPE_VIDEO_CAPTURE)
        try xioctl(CV4L2_VIDIOC_STREAMON, "VIDIOC_STREAMON", &type)
        streaming = true
    }

    public var bufferCount: Int { buffers.count }

    /// Other processes that have this camera open ("ffmpeg (pid 812)"), as far as /proc shows them.
    public func otherHolders() -> [String] { DeviceDiagnosis.holders(of: path, ownFD: fd).others }

    /// Waits up to `timeoutMilliseconds` for a filled buffer. nil on timeout.
    public func dequeue(timeoutMilliseconds: Int32) throws(V4L2Error) -> DequeuedBuffer? {
        let ready: PollEvents?
        guard !sourceChangePending else { return nil }
        // POLLPRI: an event (a DV input's source change) waits, subscribed in V4L2Device+DVTimings.swift.
        do { ready = try Poll.wait(fd, for: [.readable, .priority], timeoutMilliseconds: timeoutMilliseconds) } catch { throw V4L2Error(path, error) }
        guard let ready else { return nil }
        if ready.contains(.priority) {
            try takeEvents()
            if sourceChangePending { return nil }
        }
        if !ready.isDisjoint(with: [.error, .hangup, .invalid]) && !ready.contains(.readable) {
            // Drivers signal an unplugged or failed device this way (uvcvideo: POLLERR after disconnect).
            let what = ready.contains(.hangup) ? "the device hung up (unplugged?)"
                : "the device reported an error (unplugged, or the driver failed)"
            throw V4L2Error(path, what, errno: ENODEV)
        }
        var buffer = v4l2_buffer()
        buffer.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        buffer.memory = CV4L2_MEMORY_MMAP
        while true {
            if cv4l2_ioctl(fd, CV4L2_VIDIOC_DQBUF, &buffer) == 0 { break }
            let err = errno
            if err == EINTR { continue }
            if err == EAGAIN { return nil }
            throw V4L2Error(path, SystemError("VIDIOC_DQBUF", errno: err))
        }
        let index = Int(buffer.index)
        guard index < buffers.count else { throw V4L2Error(path, "driver returned unknown buffer \(index)", errno: EIO) }
        var timestamp: UInt64?
        let tv = buffer.timestamp
        if tv.tv_sec != 0 || tv.tv_usec != 0 {
            let driverNanos = UInt64(tv.tv_sec) * 1_000_000_000 + UInt64(tv.tv_usec) * 1000
            if buffer.flags & CV4L2_BUF_FLAG_TIMESTAMP_MASK == CV4L2_BUF_FLAG_TIMESTAMP_MONOTONIC {
                // Monotonic capture time → realtime: shift by how long ago it was.
                let age = Clock.monotonicNanos() &- driverNanos
                if age < 10_000_000_000 { timestamp = Clock.realtimeNanos() - age }
            }
        }
        return DequeuedBuffer(index: index, bytesUsed: min(Int(buffer.bytesused), buffers[index].length),
                              timestampNanos: timestamp, flaggedError: buffer.flags & CV4L2_BUF_FLAG_ERROR != 0,
                              sequence: buffer.sequence)
    }

    /// Lends a dequeued buffer's bytes (only `bytesUsed` of them).
    public func withBytes<R>(of buffer: DequeuedBuffer, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: buffers[buffer.index].start, count: buffer.bytesUsed))
    }

    /// Gives the buffer back to the driver.
    public func requeue(_ dequeued: DequeuedBuffer) throws(V4L2Error) {
        var buffer = v4l2_buffer()
        buffer.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        buffer.memory = CV4L2_MEMORY_MMAP
        buffer.index = UInt32(dequeued.index)
        try xioctl(CV4L2_VIDIOC_QBUF, "VIDIOC_QBUF", &buffer)
    }

    /// Stops streaming, unmaps the buffers and frees the driver's queue, keeping the device open: a new format (a DV
    /// input's new timings) can then be set on the same descriptor and `startStreaming` called again.
    public func stopStreaming() {
        guard fd >= 0 else { return }
        streamOffAndUnmap()
        var request = v4l2_requestbuffers()
        request.count = 0
        request.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        request.memory = CV4L2_MEMORY_MMAP
        _ = cv4l2_ioctl(fd, CV4L2_VIDIOC_REQBUFS, &request)
    }

    /// STREAMOFF (if streaming) and the buffers unmapped: what stopping and closing share. Errors are ignored.
    private func streamOffAndUnmap() {
        if streaming {
            var type = Int32(CV4L2_BUF_TYPE_VIDEO_CAPTURE)
            _ = cv4l2_ioctl(fd, CV4L2_VIDIOC_STREAMOFF, &type)
            streaming = false
        }
        for buffer in buffers { _ = v4l2_munmap(buffer.start, buffer.length) }
        buffers.removeAll()
    }

    /// Stops streaming, unmaps the buffers, closes the device. Safe to call twice; errors are ignored
    /// (an unplugged device fails all of these).
    public func close() {
        guard fd >= 0 else { return }
        streamOffAndUnmap()
        _ = v4l2_close(fd)
        fd = -1
    }
}
