// Format: numbers as text without Foundation (camview's status lines, the benchmark's JSON and tables, capture
// messages), and the one whitespace trimmer.

public enum Format {
    /// Fixed-point decimal: fixed(29.96, 1) == "30.0". Non-finite values give "0" (valid in JSON); magnitudes
    /// are clamped at 9e18 units of the last place rather than trapping.
    /// With `bareWhole`, a value that is already a whole number is written without decimals, as a setting reads:
    /// fixed(30, 1, bareWhole: true) == "30", fixed(12.5, 1, bareWhole: true) == "12.5", but 29.96 still "30.0".
    public static func fixed(_ value: Double, _ places: Int, bareWhole: Bool = false) -> String {
        guard value.isFinite else { return "0" }
        let places = bareWhole && value == value.rounded() ? 0 : places
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (value * scale).rounded()
        let negative = scaled < 0
        let magnitude = UInt64(min(abs(scaled), 9e18))
        let unit = UInt64(scale)
        var text = String(magnitude / unit)
        if places > 0 {
            let fraction = String(magnitude % unit)
            text += "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        return negative ? "-" + text : text
    }

    /// An integer with thousands separated by commas, as log lines count: grouped(28039) == "28,039".
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace. What counts as whitespace is the protocol's to say: by
    /// default space and tab (HTTP's optional whitespace, RFC 9110 §5.6.3); pass `\.isWhitespace` to trim every
    /// Unicode whitespace character (a control command as the operator typed it, "\r" included).
    public func trimmingWhitespace(_ isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }) -> String {
        guard let first = firstIndex(where: { !isWhitespace($0) }), let last = lastIndex(where: { !isWhitespace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

extension Format {
    /// A string literal as both JSON and TOML write it: `"` and `\` escaped, `\n` and `\t` by name, and every other
    /// control character (C0, DEL, C1) as `\uXXXX`, so the literal never carries one raw.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value):
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Text from outside camd (device names, library messages, peers' bytes) made safe for a log line.
public enum LogText {
    /// Printable ASCII kept; every other byte (control characters, escape sequences, non-ASCII UTF-8) and the
    /// backslash itself written as `\xNN`, so no terminal escape or forged line can reach a log. At most
    /// `limit` input bytes are kept (then `…`).
    public static func escaped(_ text: String, limit: Int = 512) -> String {
        var out = ""
        var count = 0
        for byte in text.utf8 {
            if count == limit { out += "…"; break }
            count += 1
            if byte >= 0x20 && byte < 0x7F && byte != 0x5C {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
