// TOML strings: basic ("…") with escapes, literal ('…'), and their multi-line forms ("""…""", '''…''').

extension TOMLScanner {
    /// Reads a string whose opening quote is at the cursor. Keys may not be multi-line strings.
    mutating func scanString(multilineAllowed: Bool) throws(TOMLError) -> String {
        let opening = offset
        guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
            throw error("expected a string, found \(found())")
        }
        let literal = quote == UInt8(ascii: "'")
        if peek(1) == quote && peek(2) == quote {
            guard multilineAllowed else { throw error("a key cannot be a multi-line string") }
            advance(3)
            return try scanMultilineBody(quote: quote, literal: literal, opening: opening)
        }
        advance()
        var text: [UInt8] = []
        while true {
            guard let byte = peek(), !isAtNewline else { throw error("unterminated string", at: opening) }
            if byte == quote {
                advance()
                return String(decoding: text, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") && !literal {
                try scanEscape(into: &text)
                continue
            }
            guard Self.isTextByte(byte) else { throw controlCharacterError(literal: literal) }
            text.append(byte)
            advance()
        }
    }

    /// The body after """ or ''': a newline right after the opening is dropped, CR LF becomes LF,
    /// and up to two quotes may end the body just before the closing three.
    private mutating func scanMultilineBody(quote: UInt8, literal: Bool, opening: Int) throws(TOMLError) -> String {
        _ = consumeNewline()
        var text: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string", at: opening) }
            if byte == quote {
                var run = 1
                while peek(run) == quote { run += 1 }
                if run >= 3 {
                    // Quotes past the fifth are not part of this string: they are left for the caller to reject.
                    let kept = min(run, 5) - 3
                    text.append(contentsOf: repeatElement(quote, count: kept))
                    advance(kept + 3)
                    return String(decoding: text, as: UTF8.self)
                }
                text.append(contentsOf: repeatElement(quote, count: run))
                advance(run)
            } else if byte == UInt8(ascii: "\\") && !literal {
                if lineEndingBackslash() {
                    try skipWhitespaceAndNewlines()
                } else {
                    try scanEscape(into: &text)
                }
            } else if consumeNewline() {
                text.append(0x0A)
            } else if Self.isTextByte(byte) {
                text.append(byte)
                advance()
            } else {
                throw controlCharacterError(literal: literal)
            }
        }
    }

    /// At a backslash followed by optional whitespace and a newline: steps over the backslash and whitespace.
    private mutating func lineEndingBackslash() -> Bool {
        var ahead = 1
        while peek(ahead) == UInt8(ascii: " ") || peek(ahead) == UInt8(ascii: "\t") { ahead += 1 }
        guard peek(ahead) == 0x0A || (peek(ahead) == 0x0D && peek(ahead + 1) == 0x0A) else { return false }
        advance(ahead)
        return true
    }

    private mutating func skipWhitespaceAndNewlines() throws(TOMLError) {
        while true {
            skipWhitespace()
            if consumeNewline() { continue }
            if peek() == 0x0D { throw controlCharacterError(literal: false) }
            return
        }
    }

    private func controlCharacterError(literal: Bool) -> TOMLError {
        literal ? error("control character \(found()) is not allowed in a literal string")
            : error("control character \(found()) must be escaped in a string")
    }

    /// A backslash escape at the cursor, appended to `text` as UTF-8.
    private mutating func scanEscape(into text: inout [UInt8]) throws(TOMLError) {
        let backslash = offset
        advance()
        let replacement: UInt8
        switch peek() {
        case UInt8(ascii: "b"): replacement = 0x08
        case UInt8(ascii: "t"): replacement = 0x09
        case UInt8(ascii: "n"): replacement = 0x0A
        case UInt8(ascii: "f"): replacement = 0x0C
        case UInt8(ascii: "r"): replacement = 0x0D
        case UInt8(ascii: "\""): replacement = 0x22
        case UInt8(ascii: "\\"): replacement = 0x5C
        case UInt8(ascii: "u"): try scanUnicodeEscape(digits: 4, backslash: backslash, into: &text); return
        case UInt8(ascii: "U"): try scanUnicodeEscape(digits: 8, backslash: backslash, into: &text); return
        case nil: throw error("unterminated string", at: backslash)
        default: throw error("invalid escape sequence: \(found()) after '\\'", at: backslash)
        }
        text.append(replacement)
        advance()
    }

    /// \uXXXX or \UXXXXXXXX; the cursor is on the u or U.
    private mutating func scanUnicodeEscape(digits: Int, backslash: Int, into text: inout [UInt8]) throws(TOMLError) {
        let letter = digits == 4 ? "u" : "U"
        advance()
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let digit = peek().flatMap(Self.hexValue) else {
                throw error("invalid escape sequence: \\\(letter) needs \(digits) hexadecimal digits", at: backslash)
            }
            value = value << 4 | UInt32(digit)
            advance()
        }
        guard let scalar = Unicode.Scalar(value) else {
            let hex = String(value, radix: 16, uppercase: true)
            throw error("invalid escape sequence: U+\(hex) is not a Unicode scalar value", at: backslash)
        }
        UTF8.encode(scalar) { text.append($0) }
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
