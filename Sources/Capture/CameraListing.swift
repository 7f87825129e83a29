// CameraListing: what `camd --list-formats DEVICE` prints, in the spirit of v4l2-ctl --list-formats-ext.
import CamdSystem

public enum CameraListing {
    /// `format`: the configured `format` key, and where it came from if that needs saying (a config that did not load).
    public static func describe(path: String, format: (preference: PixelFormatPreference, note: String?) = (.auto, nil)) throws(V4L2Error) -> String {
        let device = try V4L2Device(path: path)
        defer { device.close() }
        var out = "\(path): \(device.card) (driver \(device.driver), bus \(device.busInfo))\n"
        let formats = device.listFormats()
        if formats.isEmpty { out += "  no capture formats listed\n" }
        for (index, format) in formats.enumerated() {
            let how = format.fourcc.treatment + (format.emulated ? ", emulated by libv4l2" : "")
            out += "  [\(index)] '\(format.fourcc)' (\(format.description)) — \(how)\n"
            for size in format.sizes {
                let rates = size.fps.map { Format.fixed($0, 1, bareWhole: true) }.joined(separator: ", ")
                out += "      \(size.width)x\(size.height)" + (rates.isEmpty ? "" : "  fps: \(rates)") + "\n"
            }
        }
        out += choice(format.preference, formats, note: format.note)
        let controls = device.controls().sorted { $0.key < $1.key }
        if !controls.isEmpty {
            out += "  controls:\n"
            for (name, control) in controls { out += "      \(name) (\(control.minimum)…\(control.maximum))\n" }
        }
        // The same facts the status line gives when camd cannot stream it: who holds the camera now.
        let holders = device.otherHolders()
        out += holders.isEmpty ? "  in use: not by any program camd can see\n"
            : "  in use: by \(holders.joined(separator: ", ")) (one program at a time can stream a camera)\n"
        return out
    }
}
