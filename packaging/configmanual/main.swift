// configmanual: prints camd.toml(5) in roff — the keys, their order, flags and how a change applies from the key
// table (Settings/ConfigKeys.swift), each key's prose from the comments above it in config/camd.toml. Fails,
// naming the key, when the file and the table disagree, so the page cannot silently lose a key.
// Usage: configmanual CONFIG_FILE VERSION DATE   (run by scripts/man.sh)
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Settings

/// A man page's text: backslashes, hyphens and control lines escaped, everything outside ASCII as a groff
/// \[uXXXX] glyph, so the page is plain ASCII whatever the locale.
func roff(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\e"
        case "-": out += "\\-"
        case _ where scalar.isASCII: out.unicodeScalars.append(scalar)
        default:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            out += "\\[u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "]"
        }
    }
    if out.hasPrefix(".") || out.hasPrefix("'") { out = "\\&" + out }
    return out
}

/// One documented entry of the file: the keys it sets (width and height share one) and the comment above them.
struct Entry {
    var keys: [(name: String, line: String)]
    var comment: [String]
}

/// The file in order: its opening comment, then entries and section headings ("# --- Cameras (…) ---").
enum Part {
    case section(title: String, prose: [String])
    case entry(Entry)
}

func fail(_ message: String) -> Never {
    try? Files.writeAll(2, Array("configmanual: \(message)\n".utf8))
    exit(1)
}

func parse(_ text: String) -> (header: [String], parts: [Part]) {
    var header: [String] = []
    var parts: [Part] = []
    var comment: [String] = []
    var sawKey = false
    var lastWasKey = false
    func flushComment() {
        guard !comment.isEmpty else { return }
        if !sawKey && parts.isEmpty && header.isEmpty {
            header = comment
        } else if let first = comment.first, first.hasPrefix("---") {
            let title = first.trimmingCharacters("-").trimmed
            parts.append(.section(title: title, prose: Array(comment.dropFirst())))
        } else {
            fail("a comment not above a key: \(comment.first ?? "")")
        }
        comment = []
    }
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
        let line = raw.trimmed
        if line.isEmpty {
            flushComment()
            lastWasKey = false
        } else if line.hasPrefix("#") {
            var body = String(line.dropFirst())
            if body.hasPrefix(" ") { body.removeFirst() }
            comment.append(body)
            lastWasKey = false
        } else if let equals = line.firstIndex(of: "=") {
            let name = String(line[..<equals]).trimmed
            sawKey = true
            if comment.isEmpty, lastWasKey, case .entry(var entry)? = parts.last {
                entry.keys.append((name, line))
                parts[parts.count - 1] = .entry(entry)
            } else {
                parts.append(.entry(Entry(keys: [(name, line)], comment: comment)))
                comment = []
            }
            lastWasKey = true
        } else {
            fail("not a comment or a key line: \(line)")
        }
    }
    flushComment()
    return (header, parts)
}

/// The comment as roff: filled, except that a line indented in the file (a list item, a continuation, an
/// example) starts a line of its own.
func prose(_ lines: [String]) -> [String] {
    lines.flatMap { line -> [String] in
        if line.isEmpty { return [] }
        return line.hasPrefix(" ") ? [".br", roff(line.trimmed)] : [roff(line)]
    }
}

func applies(_ key: ConfigKey, camera: Config) -> String {
    func sentence(_ apply: ConfigApply) -> String {
        switch apply {
        case .live: return "applies at once"
        case .captureAdjust: return "is applied by the capture thread without reopening the source"
        case .captureRestart: return "restarts capture (a camera is released, then opened again)"
        case .listeners: return "binds the new addresses, then closes the old ones (viewers stay connected)"
        case .nextStart: return "keeps the running value: only a restart applies it"
        }
    }
    let plain = key.applies
    let withCamera = key.applies(with: camera)
    var text = "On reload a change \(sentence(plain))"
    if withCamera != plain { text += "; with a camera it \(sentence(withCamera))" }
    text += "."
    if key.isSettableLive { text += " \\fBcamctl set \(roff(key.name))\\fR changes it on the running daemon." }
    return text
}

func flagText(_ key: ConfigKey) -> String {
    guard let flag = key.flag else {
        return "No command\\-line flag: a secret does not belong on a command line, where ps(1) shows it."
    }
    let value = roff(flag.valueName ?? "value")
    return "Command line: \\fB\\-\\-\(roff(flag.name))\\fR \\fI\(value)\\fR" + (flag.isRepeatable ? " (repeatable)." : ".")
}

let arguments = CommandLine.arguments
guard arguments.count == 4 else { fail("usage: configmanual CONFIG_FILE VERSION DATE") }
let path = arguments[1], version = arguments[2], date = arguments[3]
let bytes: [UInt8]
do {
    bytes = try Files.read(path)
} catch {
    fail("cannot read \(path): \(error)")
}
let (header, parts) = parse(String(decoding: bytes, as: UTF8.self))

// The file and the table must name the same keys in the same order.
let fileKeys = parts.flatMap { part -> [String] in if case .entry(let e) = part { return e.keys.map(\.name) } else { return [] } }
let tableKeys = ConfigKey.all.map(\.name)
for name in tableKeys where !fileKeys.contains(name) { fail("key \(name) is in the key table but not in \(path)") }
for name in fileKeys where !tableKeys.contains(name) { fail("key \(name) is in \(path) but not in the key table") }
guard fileKeys == tableKeys else { fail("\(path) lists the keys in another order than the key table") }

let camera: Config
do {
    camera = try ConfigLoader.build(["source": .string("v4l2:/dev/video0")], overrides: [])
} catch {
    fail("the key table rejects a camera source: \(error)")
}

var out: [String] = [
    ".\\\" Generated by scripts/man.sh (packaging/configmanual) from config/camd.toml and Settings/ConfigKeys.swift.",
    ".TH CAMD.TOML 5 \"\(date)\" \"camd \(roff(version))\" \"File Formats Manual\"",
    ".SH NAME",
    "camd.toml \\- camd configuration file",
    ".SH SYNOPSIS",
    ".B /etc/camd/camd.toml",
    ".SH DESCRIPTION",
]
out += prose(header)
out += [
    ".PP",
    "The file is TOML 1.0. A file that is not valid TOML, an unknown key or a value out of range stops",
    "camd with one line naming the file, the key (or line and column) and what is allowed, and exit status 78",
    "(EX_CONFIG); on reload such a file is rejected and camd keeps running with its settings unchanged.",
    "Reload with \\fBsystemctl reload camd\\fR, \\fBcamctl reload\\fR or SIGHUP.",
    ".SH KEYS",
]
for part in parts {
    switch part {
    case .section(let title, let text):
        out.append(".SS \"\(roff(title).replacingQuotes())\"")
        out += prose(text)
    case .entry(let entry):
        for (index, key) in entry.keys.enumerated() {
            out.append(index == 0 ? ".TP" : ".TQ")
            out.append(".B \"\(roff(key.line).replacingQuotes())\"")
        }
        out += prose(entry.comment)
        for (name, _) in entry.keys {
            let key = ConfigKey.named(name)!
            out += [".IP", "\\fB\(roff(name))\\fR: \(roff(key.help)); default \(roff(key.defaultText)).", flagText(key), applies(key, camera: camera)]
        }
    }
}
out += [
    ".SH FILES",
    ".TP",
    ".I /etc/camd/camd.toml",
    "The file camd reads when started without \\fB\\-\\-config\\fR. The Debian package installs it as a",
    "conffile, mode 0640, group camd: it may hold a password hash or a token.",
    ".SH EXAMPLES",
    "Stream the first camera at 1280x720, 15 frames per second, its native protocol on loopback only:",
    ".PP",
    ".RS 4",
    ".nf",
    "source = \"v4l2:/dev/video0\"",
    "width = 1280",
    "height = 720",
    "fps = 15",
    "listen = [\"127.0.0.1:9999\"]",
    ".fi",
    ".RE",
    ".PP",
    "Check a file before reloading: \\fBcamd \\-\\-config /etc/camd/camd.toml \\-\\-check\\-config\\fR.",
    ".SH SEE ALSO",
    ".BR camd (8),",
    ".BR camctl (1),",
    ".BR camview (1)",
]
print(out.joined(separator: "\n"))

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
        return String(s)
    }

    func trimmingCharacters(_ c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }

    /// Inside a quoted macro argument a double quote is written twice.
    func replacingQuotes() -> String { split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") }
}
