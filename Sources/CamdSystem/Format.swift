// Format: numbers as text without Foundation (camview's status lines, the benchmark's JSON and tables).

public enum Format {
    /// Fixed-point decimal: fixed(29.96, 1) == "30.0". Non-finite values give "0" (valid in JSON); magnitudes
    /// are clamped at 9e18 units of the last place rather than trapping.
    public static func fixed(_ value: Double, _ places: Int) -> String {
        guard value.isFinite else { return "0" }
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
}
