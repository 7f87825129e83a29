// WindowFont: the 5×8 bitmap font the window draws its status line in (SDL2 draws no text without SDL_ttf).

/// Printable ASCII, one glyph per `UInt64`: eight row bytes, the top row most significant; in each row bit 4 is
/// the leftmost of the five columns. Capitals and digits are the test pattern's 5×7 glyphs (Capture's `Glyphs`);
/// the eighth row holds descenders (g j p q y and the comma).
enum WindowFont {
    static let width = 5
    static let height = 8
    /// Glyph width plus one blank column.
    static let advance = 6

    /// The glyph for an ASCII byte; anything outside 0x20...0x7E draws as "?".
    static func glyph(_ byte: UInt8) -> UInt64 {
        guard (0x20...0x7E).contains(byte) else { return glyphs[Int(UInt8(ascii: "?") - 0x20)] }
        return glyphs[Int(byte - 0x20)]
    }

    /// Whether column `column` (0 = left) of row `row` (0 = top) is set in `glyph`.
    static func isSet(_ glyph: UInt64, row: Int, column: Int) -> Bool {
        let bits = UInt8(truncatingIfNeeded: glyph >> (8 * (7 - row)))
        return bits & (0x10 >> column) != 0
    }

    /// `text` as the bytes the font can draw: the status line's "…" and "×" become "..." and "x", other
    /// non-ASCII characters "?".
    static func ascii(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "…": bytes += Array("...".utf8)
            case "×": bytes.append(UInt8(ascii: "x"))
            case "—", "–": bytes.append(UInt8(ascii: "-"))
            case " "..."~": bytes.append(UInt8(scalar.value))
            default: bytes.append(UInt8(ascii: "?"))
            }
        }
        return bytes
    }

    private static let glyphs: [UInt64] = [
        0x0000000000000000, 0x0404040404000400, 0x0A0A000000000000, 0x0A0A1F0A1F0A0A00, 0x040F140E051E0400, 0x1819020408130300, //   ! " # $ %
        0x0C12140815120D00, 0x0404080000000000, 0x0204080808040200, 0x0804020202040800, 0x0004150E15040000, 0x0004041F04040000, // & ' ( ) * +
        0x00000000000C0408, 0x0000001F00000000, 0x00000000000C0C00, 0x0101020408101000, 0x0E11131519110E00, 0x040C040404040E00, // , - . / 0 1
        0x0E11010204081F00, 0x1F02040201110E00, 0x02060A121F020200, 0x1F101E0101110E00, 0x0608101E11110E00, 0x1F01020408080800, // 2 3 4 5 6 7
        0x0E11110E11110E00, 0x0E11110F01020C00, 0x000C0C000C0C0000, 0x000C0C000C040800, 0x0204081008040200, 0x00001F001F000000, // 8 9 : ; < =
        0x0804020102040800, 0x0E11010204000400, 0x0E11171517100F00, 0x0E11111F11111100, 0x1E11111E11111E00, 0x0E11101010110E00, // > ? @ A B C
        0x1C12111111121C00, 0x1F10101E10101F00, 0x1F10101E10101000, 0x0E11101711110F00, 0x1111111F11111100, 0x0E04040404040E00, // D E F G H I
        0x0702020202120C00, 0x1112141814121100, 0x1010101010101F00, 0x111B151511111100, 0x1111191513111100, 0x0E11111111110E00, // J K L M N O
        0x1E11111E10101000, 0x0E11111115120D00, 0x1E11111E14121100, 0x0F10100E01011E00, 0x1F04040404040400, 0x1111111111110E00, // P Q R S T U
        0x11111111110A0400, 0x1111111515150A00, 0x11110A040A111100, 0x1111110A04040400, 0x1F01020408101F00, 0x0E08080808080E00, // V W X Y Z [
        0x1010080402010100, 0x0E02020202020E00, 0x040A110000000000, 0x0000000000001F00, 0x0804020000000000, 0x00000E010F110F00, // \ ] ^ _ ` a
        0x1010161911111E00, 0x00000E1010110E00, 0x01010D1311110F00, 0x00000E111F100E00, 0x0609081C08080800, 0x00000F11110F010E, // b c d e f g
        0x1010161911111100, 0x04000C0404040E00, 0x020006020202120C, 0x1010121418141200, 0x0C04040404040E00, 0x00001A1515111100, // h i j k l m
        0x0000161911111100, 0x00000E1111110E00, 0x00001E11111E1010, 0x00000F11110F0101, 0x0000161910101000, 0x00000F100E011E00, // n o p q r s
        0x08081C0808090600, 0x0000111111130D00, 0x00001111110A0400, 0x0000111115150A00, 0x0000110A040A1100, 0x00001111110F010E, // t u v w x y
        0x00001F0204081F00, 0x0204040804040200, 0x0404040404040400, 0x0804040204040800, 0x0000081502000000, // z { | } ~
    ]
}
