// WindowOverlay: the status line over the picture — a translucent bar along the bottom of the window and the
// text in WindowFont, laid out as rectangles the renderer fills in one call.

struct WindowOverlay: Equatable {
    enum Tone: Equatable {
        /// Streaming normally: resolution, fps, latency, drops.
        case info
        /// Not showing live camera pictures: connecting, reconnecting, stopped, or camd's no-signal placeholder.
        case warning
    }

    var text: String
    var tone: Tone

    struct Layout: Equatable {
        var bar: WindowRect
        /// The lit font pixels, runs along a row merged into one rectangle.
        var glyphPixels: [WindowRect]
        /// Font pixels are `scale`×`scale` output pixels.
        var scale: Int
    }

    /// The bar and the text for an output of `width`×`height` pixels. The font grows with the window (one font
    /// pixel per 240 rows, at most 3); a line too long for the window wraps between its fields (they are separated by
    /// two spaces) onto a second row, or failing that the font shrinks; what still does not fit ends in "...".
    func layout(width: Int, height: Int) -> Layout {
        let fields = Self.fields(WindowFont.ascii(text))
        var scale = max(1, min(3, height / 240))
        var rows = Self.wrap(fields, columns: Self.columns(width, scale: scale))
        while scale > 1, rows.count > Self.maxRows {
            scale -= 1
            rows = Self.wrap(fields, columns: Self.columns(width, scale: scale))
        }
        if rows.count > Self.maxRows {
            rows = Array(rows.prefix(Self.maxRows))
            rows[rows.count - 1] = Self.truncate(rows[rows.count - 1] + Array("...".utf8), columns: Self.columns(width, scale: scale))
        }

        let padding = 2 * scale
        let rowHeight = (WindowFont.height + 1) * scale
        let barHeight = max(1, rows.count) * rowHeight - scale + 2 * padding
        let bar = WindowRect(x: 0, y: height - barHeight, width: width, height: barHeight)
        var pixels: [WindowRect] = []
        for (line, bytes) in rows.enumerated() {
            for (index, byte) in bytes.enumerated() {
                let glyph = WindowFont.glyph(byte)
                let left = padding + index * WindowFont.advance * scale
                let top = bar.y + padding + line * rowHeight
                for row in 0..<WindowFont.height {
                    var column = 0
                    while column < WindowFont.width {
                        guard WindowFont.isSet(glyph, row: row, column: column) else { column += 1; continue }
                        let start = column
                        while column < WindowFont.width, WindowFont.isSet(glyph, row: row, column: column) { column += 1 }
                        pixels.append(WindowRect(x: left + start * scale, y: top + row * scale,
                                                 width: (column - start) * scale, height: scale))
                    }
                }
            }
        }
        return Layout(bar: bar, glyphPixels: pixels, scale: scale)
    }

    private static let maxRows = 3

    /// The line's fields: the text split where two or more spaces separate it, so "30.0 fps" stays whole.
    static func fields(_ bytes: [UInt8]) -> [[UInt8]] {
        let space = UInt8(ascii: " ")
        var fields: [[UInt8]] = [[]]
        var spaces = 0
        for byte in bytes {
            if byte == space {
                spaces += 1
                continue
            }
            if !fields[fields.count - 1].isEmpty {
                if spaces >= 2 { fields.append([]) } else if spaces == 1 { fields[fields.count - 1].append(space) }
            }
            spaces = 0
            fields[fields.count - 1].append(byte)
        }
        return fields.filter { !$0.isEmpty }
    }

    /// Characters that fit across `width` pixels at `scale`, after the bar's padding on both sides.
    static func columns(_ width: Int, scale: Int) -> Int {
        max(0, (width - 4 * scale + scale) / (WindowFont.advance * scale))
    }

    /// Packs `fields` into rows of at most `columns` characters, two spaces apart. A field longer than a row (a
    /// reconnect reason) wraps at its single spaces; a word longer than a row is cut.
    static func wrap(_ fields: [[UInt8]], columns: Int) -> [[UInt8]] {
        var rows: [[UInt8]] = []
        func place(_ piece: [UInt8], separator: String) {
            if let last = rows.last, last.count + separator.utf8.count + piece.count <= columns {
                rows[rows.count - 1] = last + Array(separator.utf8) + piece
            } else {
                rows.append(truncate(piece, columns: columns))
            }
        }
        for field in fields {
            if field.count <= columns {
                place(field, separator: "  ")
                continue
            }
            for (index, word) in field.split(separator: UInt8(ascii: " ")).enumerated() {
                place(Array(word), separator: index == 0 ? "  " : " ")
            }
        }
        return rows
    }

    /// `bytes`, ending in "..." if it had to be cut to `columns` characters.
    static func truncate(_ bytes: [UInt8], columns: Int) -> [UInt8] {
        guard bytes.count > columns else { return bytes }
        return Array(bytes.prefix(max(0, columns - 3))) + Array("...".utf8).prefix(columns)
    }
}
