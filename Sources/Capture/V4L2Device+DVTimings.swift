// V4L2Device+DVTimings: HDMI and other DV-timings inputs (the TC358743 bridge, USB capture sticks, vivid's HDMI
// input). The source, not camd, decides the picture size and rate: camd asks the receiver what it detects
// (VIDIOC_QUERY_DV_TIMINGS), sets that (VIDIOC_S_DV_TIMINGS), and listens for V4L2_EVENT_SOURCE_CHANGE, which
// says the timings moved (a new resolution, or the signal went or came back).
#if canImport(Glibc)
import Glibc
#endif
internal import CV4L2
import CamdSystem

/// What a DV receiver detected: the active picture, and its rate from the pixel clock and the total (blanked) size.
public struct DVTimings: Equatable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public var interlaced: Bool
    public var pixelClock: UInt64
    /// Active plus blanking (porches and sync), per line and per frame (both fields when interlaced).
    public var totalWidth: Int
    public var totalHeight: Int

    public init(width: Int, height: Int, interlaced: Bool, pixelClock: UInt64, totalWidth: Int, totalHeight: Int) {
        self.width = width
        self.height = height
        self.interlaced = interlaced
        self.pixelClock = pixelClock
        self.totalWidth = totalWidth
        self.totalHeight = totalHeight
    }

    /// Frames per second: pixelclock / (total width × total height); 0 if the driver gave no clock or blanking.
    public var fps: Double {
        guard pixelClock > 0, totalWidth > 0, totalHeight > 0 else { return 0 }
        return Double(pixelClock) / (Double(totalWidth) * Double(totalHeight))
    }

    /// "1920x1080p60", "1280x720p59.94", "1920x1080i60" (interlaced: fields per second, as the mode is named).
    public var description: String {
        let rate = interlaced ? fps * 2 : fps
        return "\(width)x\(height)\(interlaced ? "i" : "p")\(Format.fixed(rate, 2, bareWhole: true))"
    }
}

extension V4L2Error {
    /// What VIDIOC_QUERY_DV_TIMINGS's errors mean to the operator (the errno meanings are the ioctl's own, in the
    /// kernel's Documentation/userspace-api/media/v4l/vidioc-query-dv-timings.rst).
    static let noSignal = "no HDMI signal"
    static let unstableSignal = "HDMI signal unstable (timings not locked)"
    static let outOfRange = "HDMI timings out of range (the receiver cannot capture this mode)"

    /// The DV receiver has no usable signal (no cable or source off, not locked, out of range): the normal state of an
    /// HDMI input whose source is off, not a broken camera. Only QUERY_DV_TIMINGS's answers count (another call's
    /// ERANGE, say S_CTRL's, is a real error).
    public var isSignalAbsent: Bool { [Self.noSignal, Self.unstableSignal, Self.outOfRange].contains(message) }
}

extension V4L2Device {
    /// Whether the current input has DV timings (V4L2_IN_CAP_DV_TIMINGS of VIDIOC_ENUMINPUT for VIDIOC_G_INPUT's
    /// index). A device without inputs (ENOTTY) or whose input cannot say has none: it is negotiated like a camera.
    func currentInputHasDVTimings() -> Bool {
        var index: Int32 = 0
        guard (try? xioctl(CV4L2_VIDIOC_G_INPUT, "VIDIOC_G_INPUT", &index)) != nil, index >= 0 else { return false }
        var input = v4l2_input()
        input.index = UInt32(index)
        guard (try? xioctl(CV4L2_VIDIOC_ENUMINPUT, "VIDIOC_ENUMINPUT", &input)) != nil else { return false }
        return input.capabilities & CV4L2_IN_CAP_DV_TIMINGS != 0
    }

    /// For a DV input: the timings the receiver detects, now set on the device (so the next S_FMT is at their size),
    /// and source-change events subscribed. nil for any other input. No signal, an unlocked or an out-of-range signal
    /// throw with the reason the operator sees ("no HDMI signal").
    /// Call with no buffers allocated: drivers refuse new timings while the queue is busy (EBUSY).
    public func prepareDVInput() throws(V4L2Error) -> DVTimings? {
        guard currentInputHasDVTimings() else { return nil }
        var timings = v4l2_dv_timings()
        do {
            try xioctl(CV4L2_VIDIOC_QUERY_DV_TIMINGS, "VIDIOC_QUERY_DV_TIMINGS", &timings)
        } catch {
            switch error.errno {
            case ENOLINK: throw V4L2Error(path, V4L2Error.noSignal, errno: ENOLINK)
            case ENOLCK: throw V4L2Error(path, V4L2Error.unstableSignal, errno: ENOLCK)
            case ERANGE: throw V4L2Error(path, V4L2Error.outOfRange, errno: ERANGE)
            case ENODATA: throw V4L2Error(path, "the input reports DV timings but cannot query them (ENODATA)", errno: ENODATA)
            default: throw error
            }
        }
        guard timings.type == CV4L2_DV_BT_656_1120, timings.bt.width > 0, timings.bt.height > 0 else {
            throw V4L2Error(path, "the receiver reported unusable timings (type \(timings.type), \(timings.bt.width)x\(timings.bt.height))",
                            errno: ERANGE)
        }
        try xioctl(CV4L2_VIDIOC_S_DV_TIMINGS, "VIDIOC_S_DV_TIMINGS", &timings)
        subscribeSourceChanges()
        let bt = timings.bt
        let interlaced = bt.interlaced != 0
        let totalWidth = Int(bt.width) + Int(bt.hfrontporch) + Int(bt.hsync) + Int(bt.hbackporch)
        var totalHeight = Int(bt.height) + Int(bt.vfrontporch) + Int(bt.vsync) + Int(bt.vbackporch)
        if interlaced { totalHeight += Int(bt.il_vfrontporch) + Int(bt.il_vsync) + Int(bt.il_vbackporch) }
        return DVTimings(width: Int(bt.width), height: Int(bt.height), interlaced: interlaced, pixelClock: bt.pixelclock,
                         totalWidth: totalWidth, totalHeight: totalHeight)
    }

    /// V4L2_EVENT_SOURCE_CHANGE for the current input. Subscribing twice is harmless (the kernel keeps one). A driver
    /// without events still works: a lost signal then shows as no frames (device_timeout) and the reopen queries again.
    private func subscribeSourceChanges() {
        var subscription = v4l2_event_subscription()
        subscription.type = CV4L2_EVENT_SOURCE_CHANGE
        subscription.id = 0
        _ = try? xioctl(CV4L2_VIDIOC_SUBSCRIBE_EVENT, "VIDIOC_SUBSCRIBE_EVENT", &subscription)
    }

    /// Takes every pending event (poll said POLLPRI); a source change sets `sourceChangePending`.
    func takeEvents() throws(V4L2Error) {
        for _ in 0..<64 {
            var event = v4l2_event()
            if cv4l2_ioctl(fd, CV4L2_VIDIOC_DQEVENT, &event) != 0 {
                let err = errno
                if err == EINTR { continue }
                if err == ENOENT || err == EAGAIN { return }
                throw V4L2Error(path, SystemError("VIDIOC_DQEVENT", errno: err))
            }
            if event.type == CV4L2_EVENT_SOURCE_CHANGE { sourceChangePending = true }
            if event.pending == 0 { return }
        }
    }
}
