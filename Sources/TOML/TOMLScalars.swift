// TOML values written without quotes or brackets: booleans, integers, floats and date-times.

extension TOMLScanner {
    /// Reads the run of characters a bare value can hold and decides what it is.
    mutating func scanBareValue() throws(TOMLError) -> TOMLValue {
        let start = offset
        while let byte = peek(), Self.isBareValueByte(byte) { advance() }
        // "1979-05-27 07:32:00": a space may stand for the T between a date and a time.
        if offset - start == 10, isDate(at: start), peek() == UInt8(ascii: " "),
           isDigitAhead(1), isDigitAhead(2), peek(3) == UInt8(ascii: ":") {
            advance()
            while let byte = peek(), Self.isBareValueByte(byte) { advance() }
        }
        let end = offset
        guard end > start else { throw error("expected a value, found \(found())") }
        switch text(start..<end) {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan": return .float(.nan)
        case "-nan": return .float(-.nan)
        default: break
        }
        if isDate(at: start) || isTime(at: start, end: end) {
            try checkDateTime(start..<end)
            return .datetime(text(start..<end))
        }
        let first = bytes[start]
        guard first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || Self.isDigit(first) else {
            throw error("expected a value, found '\(shown(start..<end))'", at: start)
        }
        return try number(start..<end)
    }

    private static func isBareValueByte(_ byte: UInt8) -> Bool {
        isBareKeyByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func isDigitAhead(_ ahead: Int) -> Bool { peek(ahead).map(Self.isDigit) ?? false }

    private func isDate(at position: Int) -> Bool {
        position + 4 < bytes.count && bytes[position..<position + 4].allSatisfy(Self.isDigit)
            && bytes[position + 4] == UInt8(ascii: "-")
    }

    private func isTime(at position: Int, end: Int) -> Bool {
        end - position > 2 && Self.isDigit(bytes[position]) && Self.isDigit(bytes[position + 1])
            && bytes[position + 2] == UInt8(ascii: ":")
    }

    /// A token of bare-value bytes (ASCII only), cut short for a message.
    private func shown(_ range: Range<Int>) -> String {
        range.count <= TOMLQuoting.longest ? text(range) : text(range.lowerBound..<range.lowerBound + TOMLQuoting.longest) + "…"
    }

    // MARK: Numbers

    private func number(_ range: Range<Int>) throws(TOMLError) -> TOMLValue {
        var index = range.lowerBound
        let signed = bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")
        if signed { index += 1 }
        if index + 1 < range.upperBound, bytes[index] == UInt8(ascii: "0"),
           let radix = Self.radix(bytes[index + 1]) {
            guard !signed else {
                throw error("hexadecimal, octal and binary integers cannot have a sign", at: range.lowerBound)
            }
            let digitsEnd = try digits(from: index + 2, to: range.upperBound, radix: radix)
            guard digitsEnd == range.upperBound else { throw unexpected(digitsEnd, in: "integer") }
            return try integer(range, digitsFrom: index + 2, radix: radix)
        }
        guard index < range.upperBound, Self.isDigit(bytes[index]) else {
            throw error("expected a digit, found \(found(at: index))", at: index)
        }
        if bytes[index] == UInt8(ascii: "0"), index + 1 < range.upperBound,
           Self.isDigit(bytes[index + 1]) || bytes[index + 1] == UInt8(ascii: "_") {
            throw error("leading zeros are not allowed", at: index)
        }
        let integerPartStart = index
        index = try digits(from: index, to: range.upperBound, radix: 10)
        var isFloat = false
        if index < range.upperBound, bytes[index] == UInt8(ascii: ".") {
            isFloat = true
            index = try digits(from: index + 1, to: range.upperBound, radix: 10)
        }
        if index < range.upperBound, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isFloat = true
            index += 1
            if index < range.upperBound, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            index = try digits(from: index, to: range.upperBound, radix: 10)
        }
        guard index == range.upperBound else { throw unexpected(index, in: "number") }
        guard isFloat else { return try integer(range, digitsFrom: integerPartStart, radix: 10) }
        let written = String(decoding: bytes[range].lazy.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        guard let value = Double(written) else { throw error("invalid float '\(shown(range))'", at: range.lowerBound) }
        return .float(value)
    }

    private static func radix(_ letter: UInt8) -> Int? {
        switch letter {
        case UInt8(ascii: "x"): 16
        case UInt8(ascii: "o"): 8
        case UInt8(ascii: "b"): 2
        default: nil
        }
    }

    /// One or more digits with single underscores between them; returns where they end.
    private func digits(from start: Int, to end: Int, radix: Int) throws(TOMLError) -> Int {
        guard start < end, Self.digitValue(bytes[start], radix: radix) != nil else {
            throw error("expected a digit, found \(found(at: start))", at: start)
        }
        var index = start + 1
        while index < end {
            if bytes[index] == UInt8(ascii: "_") {
                guard index + 1 < end, Self.digitValue(bytes[index + 1], radix: radix) != nil else {
                    throw error("an underscore in a number must be between two digits", at: index)
                }
                index += 2
            } else if Self.digitValue(bytes[index], radix: radix) != nil {
                index += 1
            } else {
                break
            }
        }
        return index
    }

    private static func digitValue(_ byte: UInt8, radix: Int) -> Int? {
        guard let value = hexValue(byte).map(Int.init), value < radix else { return nil }
        return value
    }

    private func unexpected(_ position: Int, in what: String) -> TOMLError {
        error("unexpected \(found(at: position)) in \(what)", at: position)
    }

    /// The value of already checked digits; negative numbers are summed downwards so Int64.min fits.
    private func integer(_ range: Range<Int>, digitsFrom start: Int, radix: Int) throws(TOMLError) -> TOMLValue {
        let negative = bytes[range.lowerBound] == UInt8(ascii: "-")
        var value: Int64 = 0
        for byte in bytes[start..<range.upperBound] {
            guard let digit = Self.digitValue(byte, radix: radix) else { continue }
            let (shifted, overflowMultiplying) = value.multipliedReportingOverflow(by: Int64(radix))
            let (next, overflowAdding) = negative ? shifted.subtractingReportingOverflow(Int64(digit))
                : shifted.addingReportingOverflow(Int64(digit))
            guard !overflowMultiplying, !overflowAdding else {
                throw error("integer '\(shown(range))' does not fit in 64 bits", at: range.lowerBound)
            }
            value = next
        }
        return .integer(value)
    }

    // MARK: Date-times

    /// Offset date-time, local date-time, local date or local time (RFC 3339 with TOML's relaxations):
    /// the shape, and each field's range.
    private func checkDateTime(_ range: Range<Int>) throws(TOMLError) {
        var reader = DateTimeReader(bytes: bytes, index: range.lowerBound, end: range.upperBound)
        let problem: String?
        if isTime(at: range.lowerBound, end: range.upperBound) {
            problem = reader.time() ?? reader.finished()
        } else {
            problem = reader.dateTime()
        }
        if let problem {
            throw error("invalid date-time '\(shown(range))': \(problem)", at: range.lowerBound)
        }
    }
}

/// Reads a date-time token field by field; each step returns a problem or nil.
private struct DateTimeReader {
    let bytes: [UInt8]
    var index: Int
    let end: Int

    mutating func dateTime() -> String? {
        guard let year = number(4), separator("-"), let month = number(2), separator("-"), let day = number(2) else {
            return "expected YYYY-MM-DD"
        }
        guard (1...12).contains(month) else { return "month must be 01 to 12" }
        guard (1...Self.days(inMonth: month, year: year)).contains(day) else { return "day out of range for the month" }
        guard index < end else { return nil }
        guard separator("T") || separator("t") || separator(" ") else { return "expected T between date and time" }
        if let problem = time() { return problem }
        guard index < end else { return nil }
        if separator("Z") || separator("z") { return finished() }
        guard separator("+") || separator("-") else { return "expected Z or a +HH:MM offset" }
        guard let hour = number(2), separator(":"), let minute = number(2) else { return "expected a +HH:MM offset" }
        guard hour <= 23, minute <= 59 else { return "offset out of range" }
        return finished()
    }

    /// HH:MM:SS with an optional fraction of a second.
    mutating func time() -> String? {
        guard let hour = number(2), separator(":"), let minute = number(2), separator(":"), let second = number(2) else {
            return "expected HH:MM:SS"
        }
        guard hour <= 23 else { return "hour must be 00 to 23" }
        guard minute <= 59 else { return "minute must be 00 to 59" }
        guard second <= 60 else { return "second must be 00 to 60" }
        if separator(".") {
            guard number(1) != nil else { return "expected digits after the decimal point" }
            while index < end, TOMLScanner.isDigit(bytes[index]) { index += 1 }
        }
        return nil
    }

    func finished() -> String? {
        index == end ? nil : "unexpected '\(String(decoding: [bytes[index]], as: UTF8.self))'"
    }

    private mutating func number(_ digits: Int) -> Int? {
        guard index + digits <= end else { return nil }
        var value = 0
        for byte in bytes[index..<index + digits] {
            guard TOMLScanner.isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        index += digits
        return value
    }

    private mutating func separator(_ character: Unicode.Scalar) -> Bool {
        guard index < end, bytes[index] == UInt8(ascii: character) else { return false }
        index += 1
        return true
    }

    private static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
