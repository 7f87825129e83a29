// TerminalGraphics: real pixels for terminals that take them. Kitty's graphics protocol (raw RGB, base64, in
// chunks of at most 4096 bytes) and DEC sixel (a 6×6×6 colour cube, six pixel rows per band, run-length
// encoded). Pure: pixels in, escape sequences out; the display decides where and how often.
import CamdSystem

public enum KittyGraphics {
    /// Draws `image` at the cursor, scaled by the terminal into `columns`×`rows` cells, replacing the previous
    /// picture (same image and placement id, so there is no flicker and no pile-up of images).
    public static func render(_ image: RGBImage, columns: Int, rows: Int) -> [UInt8] {
        let payload = Base64.encodedBytes(image.pixels)
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + payload.count / 4096 * 16 + 64)
        var offset = 0
        var first = true
        repeat {
            let end = min(offset + 4096, payload.count)
            let more = end < payload.count ? 1 : 0
            if first {
                // a=T transmit and show; f=24 RGB; C=1 keeps the cursor still; q=2 no replies to read.
                out += Array("\u{1B}_Ga=T,f=24,s=\(image.width),v=\(image.height),c=\(columns),r=\(rows),i=1,p=1,C=1,q=2,m=\(more);".utf8)
                first = false
            } else {
                out += Array("\u{1B}_Gm=\(more);".utf8)
            }
            out += payload[offset..<end]
            out += Array("\u{1B}\\".utf8)
            offset = end
        } while offset < payload.count
        return out
    }

    /// Removes the picture (leaving camview, or before redrawing after a resize).
    public static let delete = Array("\u{1B}_Ga=d,d=A,q=2\u{1B}\\".utf8)
}

public enum SixelPicture {
    /// `image` as one sixel image (DCS … ST), colours reduced to a 6×6×6 cube.
    public static func render(_ image: RGBImage) -> [UInt8] {
        var out = Array("\u{1B}P0;1;0q\"1;1;\(image.width);\(image.height)".utf8)
        // The palette: index r*36 + g*6 + b, levels 0, 20, 40, 60, 80, 100 %.
        for index in 0..<216 {
            out += Array("#\(index);2;\(index / 36 * 20);\(index / 6 % 6 * 20);\(index % 6 * 20)".utf8)
        }
        let width = image.width
        var colours = [Int](repeating: 0, count: width * image.height)
        for i in 0..<colours.count {
            let p = i * 3
            colours[i] = level(image.pixels[p]) * 36 + level(image.pixels[p + 1]) * 6 + level(image.pixels[p + 2])
        }
        var masks = [UInt8](repeating: 0, count: 216 * width)
        var used = [Bool](repeating: false, count: 216)
        var band = 0
        while band < image.height {
            for c in 0..<216 where used[c] { masks.withUnsafeMutableBufferPointer { $0[c * width..<(c + 1) * width].update(repeating: 0) } }
            used = [Bool](repeating: false, count: 216)
            for row in band..<min(band + 6, image.height) {
                let bit = UInt8(1) << (row - band)
                for x in 0..<width {
                    let c = colours[row * width + x]
                    masks[c * width + x] |= bit
                    used[c] = true
                }
            }
            var firstColour = true
            for c in 0..<216 where used[c] {
                if !firstColour { out.append(UInt8(ascii: "$")) }
                firstColour = false
                out += Array("#\(c)".utf8)
                var x = 0
                while x < width {
                    let mask = masks[c * width + x]
                    var run = 1
                    while x + run < width && masks[c * width + x + run] == mask { run += 1 }
                    let character = 63 + mask
                    if run > 3 { out += Array("!\(run)".utf8); out.append(character) } else { out += [UInt8](repeating: character, count: run) }
                    x += run
                }
            }
            out.append(UInt8(ascii: "-"))
            band += 6
        }
        out += Array("\u{1B}\\".utf8)
        return out
    }

    /// 0…255 → the nearest of six levels.
    private static func level(_ value: UInt8) -> Int { (Int(value) * 5 + 127) / 255 }
}
