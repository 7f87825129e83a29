// PrometheusText: the Prometheus text exposition format 0.0.4 — families with HELP and TYPE, escaped label
// values, Go-compatible numbers, cumulative histogram buckets. What GET /metrics answers.

/// One scrape's body, built family by family. Each family is written once, whole (HELP, TYPE, its samples),
/// so no family can be split or repeated; a second family with a name already used is ignored.
public struct PrometheusText {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// A label set: (name, value) pairs in the order written. Names are camd's own (checked in debug builds);
    /// values are escaped.
    public typealias Labels = [(String, String)]

    /// Observations in fixed buckets: `counts[i]` is how many fell in (upperBounds[i-1], upperBounds[i]] — not
    /// cumulative; rendering accumulates them. Observations above the last bound are in `count` only.
    public struct Histogram: Sendable, Equatable {
        public var upperBounds: [Double]
        public var counts: [UInt64]
        public var sum: Double
        public var count: UInt64

        public init(upperBounds: [Double], counts: [UInt64], sum: Double, count: UInt64) {
            self.upperBounds = upperBounds
            self.counts = counts
            self.sum = sum
            self.count = count
        }
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public private(set) var text = ""
    public private(set) var families: [String] = []
    private var names: Set<String> = []

    public init(reserving capacity: Int = 8192) { text.reserveCapacity(capacity) }

    public var bytes: [UInt8] { Array(text.utf8) }

    /// A counter or gauge family with one sample per label set (one unlabelled sample: `[([], value)]`).
    public mutating func add(_ name: String, _ kind: Kind, help: String, _ samples: [(Labels, Double)]) {
        guard begin(name, kind, help: help) else { return }
        for (labels, value) in samples { line(name, labels, value) }
    }

    /// An unlabelled counter or gauge.
    public mutating func add(_ name: String, _ kind: Kind, help: String, _ value: Double) {
        add(name, kind, help: help, [([], value)])
    }

    /// A histogram family: `name_bucket{le=…}` cumulative up to `le="+Inf"` (= count), `name_sum`, `name_count`.
    public mutating func add(_ name: String, help: String, labels: Labels = [], _ histogram: Histogram) {
        guard begin(name, .histogram, help: help) else { return }
        var cumulative: UInt64 = 0
        for (bound, count) in zip(histogram.upperBounds, histogram.counts) {
            cumulative += count
            line(name + "_bucket", labels + [("le", Self.number(bound))], Double(cumulative))
        }
        line(name + "_bucket", labels + [("le", "+Inf")], Double(histogram.count))
        line(name + "_sum", labels, histogram.sum)
        line(name + "_count", labels, Double(histogram.count))
    }

    private mutating func begin(_ name: String, _ kind: Kind, help: String) -> Bool {
        assert(Self.isValidName(name), "not a Prometheus metric name: \(name)")
        guard names.insert(name).inserted else { return false }
        families.append(name)
        text += "# HELP \(name) \(Self.escapedHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
        return true
    }

    private mutating func line(_ name: String, _ labels: Labels, _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (index, (label, value)) in labels.enumerated() {
                assert(Self.isValidName(label) && !label.contains(":"), "not a Prometheus label name: \(label)")
                if index > 0 { text += "," }
                text += label + "=\"" + Self.escapedLabelValue(value) + "\""
            }
            text += "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    /// A sample value or `le` bound as Prometheus (Go's strconv.ParseFloat) reads it: whole numbers without a
    /// fraction or exponent, `+Inf`, `-Inf`, `NaN`; others in Swift's shortest round-trip form ("0.0025",
    /// "1e-05", "1.5e+20"), which Go parses to the same double. No grouping separators, whatever the locale.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return String(Int64(value)) }
        return value.description
    }

    /// Label values: backslash, double quote and line feed escaped as \\, \" and \n (the format's only escapes).
    public static func escapedLabelValue(_ value: String) -> String {
        // Scanned as bytes: Character iteration (grapheme breaking) was most of a scrape's cost.
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else { return value }
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// HELP text: backslash and line feed escaped (quotes are literal there).
    public static func escapedHelp(_ help: String) -> String {
        guard help.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A }) else { return help }
        var out = ""
        for scalar in help.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        func letter(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c == 0x3A }
        return letter(first) && name.utf8.allSatisfy { letter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }
}
