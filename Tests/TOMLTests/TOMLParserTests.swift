// TOMLParser: every kind of TOML 1.0 value and table, and each class of error at its exact line and column.
import Foundation
import Testing
import TOML

private var packageRoot: String {
    var url = URL(fileURLWithPath: #filePath)
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
    return url.path
}

/// The error `text` stops with, or nil if it parses.
private func failure(_ text: String) -> TOMLError? {
    do {
        _ = try TOMLParser.parse(text)
        return nil
    } catch {
        return error
    }
}

private func failure(bytes: [UInt8]) -> TOMLError? {
    do {
        _ = try TOMLParser.parse(bytes: bytes)
        return nil
    } catch {
        return error
    }
}

/// `text` fails at `line`:`column` with a message containing `fragment`.
private func expectError(_ text: String, line: Int, column: Int, _ fragment: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error = failure(text) else {
        Issue.record("\(text.debugDescription) parsed without an error", sourceLocation: sourceLocation)
        return
    }
    #expect(error.line == line && error.column == column, "\(error)", sourceLocation: sourceLocation)
    #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F },
            "raw control character in \(error.message.debugDescription)", sourceLocation: sourceLocation)
}

struct TOMLParserTests {
    // MARK: camd's configuration

    @Test func camdConfigValuesParse() throws {
        let document = try TOMLParser.parse("""
            listen = ["0.0.0.0:9999"]
            fps = 12.5
            source = "v4l2:/dev/video0"
            controls = { brightness = 128, white_balance_temperature = 4600 }
            http_auth = "admin:$6$abc"
            """)
        #expect(document == [
            "listen": .array([.string("0.0.0.0:9999")]),
            "fps": .float(12.5),
            "source": .string("v4l2:/dev/video0"),
            "controls": .table(["brightness": .integer(128), "white_balance_temperature": .integer(4600)]),
            "http_auth": .string("admin:$6$abc"),
        ])
        #expect(try TOMLParser.parse("fps = 30\n") == ["fps": .integer(30)])
    }

    @Test func camdControlsCanBeATableSection() throws {
        let document = try TOMLParser.parse("fps = 30\n\n[controls]\nbrightness = 1\n")
        #expect(document == ["fps": .integer(30), "controls": .table(["brightness": .integer(1)])])
    }

    @Test func theShippedConfigFileParses() throws {
        let text = try String(contentsOfFile: packageRoot + "/config/camd.toml", encoding: .utf8)
        let document = try TOMLParser.parse(text)
        #expect(document["listen"] == .array([.string("0.0.0.0:9999")]))
        #expect(document["http_listen"] == .array([.string("0.0.0.0:8080")]))
        #expect(document["fps"] == .integer(30))
        #expect(document["controls"] == .table([:]))
        #expect(document["http_auth"] == .string(""))
        #expect(document["control_socket"] == .string("/run/camd/control"))
    }

    @Test func everyFuzzCorpusFileParsesOrThrows() throws {
        let directory = packageRoot + "/fuzz/corpus/toml"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(names.count >= 30)
        for name in names {
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + name))
            if let error = failure(bytes: [UInt8](bytes)) {
                #expect(error.line >= 1 && error.column >= 1, "\(name): \(error)")
            }
        }
    }

    // MARK: Keys, comments, whitespace

    @Test func commentsBlankLinesAndCRLFAreIgnored() throws {
        let document = try TOMLParser.parse("# header\r\n\r\n  a = 1 # trailing\r\n\t\n# end with é and \t tab\r\nb = 2")
        #expect(document == ["a": .integer(1), "b": .integer(2)])
    }

    @Test func bareQuotedAndDottedKeys() throws {
        let document = try TOMLParser.parse("""
            bare_key-1 = 1
            "quoted key" = 2
            'literal "key"' = 3
            "" = 4
            site."google.com" = true
            a . b . c = 5
            3.14159 = "pi"
            1234 = "digits"
            "\\u00e9" = "escaped"
            """)
        #expect(document == [
            "bare_key-1": .integer(1),
            "quoted key": .integer(2),
            "literal \"key\"": .integer(3),
            "": .integer(4),
            "site": .table(["google.com": .bool(true)]),
            "a": .table(["b": .table(["c": .integer(5)])]),
            "3": .table(["14159": .string("pi")]),
            "1234": .string("digits"),
            "é": .string("escaped"),
        ])
    }

    @Test func aLeadingByteOrderMarkIsSkipped() throws {
        #expect(try TOMLParser.parse(bytes: [0xEF, 0xBB, 0xBF] + Array("a = 1\n".utf8)) == ["a": .integer(1)])
        #expect(failure(bytes: [0xEF, 0xBB, 0xBF] + Array("a = ?".utf8)) == TOMLError(line: 1, column: 5, message: "expected a value, found '?'"))
    }

    // MARK: Strings

    @Test func basicStringsHaveEveryEscape() throws {
        let document = try TOMLParser.parse(#"s = "tab\there \"q\" back\\slash \b\f\n\r \u00E9 \U0001F600 'single'""#)
        #expect(document["s"] == .string("tab\there \"q\" back\\slash \u{8}\u{C}\n\r é 😀 'single'"))
    }

    @Test func literalStringsKeepBackslashes() throws {
        let document = try TOMLParser.parse(#"path = 'C:\Users\nodejs\templates'"# + "\nregex = '<\\i\\c*\\s*>'\n")
        #expect(document["path"] == .string(#"C:\Users\nodejs\templates"#))
        #expect(document["regex"] == .string(#"<\i\c*\s*>"#))
    }

    @Test func multilineBasicStrings() throws {
        let document = try TOMLParser.parse("""
            a = \"\"\"
            Roses are red
            Violets are blue\"\"\"
            b = \"\"\"\\
                The quick brown \\
                fox.\\
                \"\"\"
            c = \"\"\"Here are two quotation marks: "". Simple enough.\"\"\"
            d = \"\"\"Here are fifteen quotation marks: \\"\\"\\"\\"\\"\\"\\"\\"\\"\\"\\"\\"\\"\\"\\".\"\"\"
            e = \"\"\""This," she said, "is just a pointless statement.\"\"\"\"
            f = \"\"\"two at the end\"\"\"\"\"
            """)
        #expect(document["a"] == .string("Roses are red\nViolets are blue"))
        #expect(document["b"] == .string("The quick brown fox."))
        #expect(document["c"] == .string("Here are two quotation marks: \"\". Simple enough."))
        #expect(document["d"] == .string("Here are fifteen quotation marks: " + String(repeating: "\"", count: 15) + "."))
        #expect(document["e"] == .string("\"This,\" she said, \"is just a pointless statement.\""))
        #expect(document["f"] == .string("two at the end\"\""))
    }

    @Test func multilineStringsTurnCRLFIntoLF() throws {
        let document = try TOMLParser.parse("a = \"\"\"\r\none\r\ntwo\\\r\n   three\"\"\"\r\nb = '''\r\nx\r\ny'''\r\n")
        #expect(document == ["a": .string("one\ntwothree"), "b": .string("x\ny")])
    }

    @Test func multilineLiteralStrings() throws {
        let document = try TOMLParser.parse("""
            regex2 = '''I [dw]on't need \\d{2} apples'''
            lines  = '''
            The first newline is
            trimmed in raw strings.
               All other whitespace
               is preserved.
            '''
            quot15 = '''Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'''
            str = ''''That,' she said, 'is still pointless.''''
            """)
        #expect(document["regex2"] == .string("I [dw]on't need \\d{2} apples"))
        #expect(document["lines"] == .string("The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n"))
        #expect(document["quot15"] == .string("Here are fifteen quotation marks: " + String(repeating: "\"", count: 15)))
        #expect(document["str"] == .string("'That,' she said, 'is still pointless.'"))
    }

    // MARK: Numbers, booleans, date-times

    @Test func integersInEveryBase() throws {
        let document = try TOMLParser.parse("""
            a = +99
            b = 42
            c = 0
            d = -17
            e = 1_000
            f = 5_349_221
            g = 0xDEADBEEF
            h = 0xdead_beef
            i = 0o01234567
            j = 0b11010110
            k = 9223372036854775807
            l = -9223372036854775808
            m = +0
            n = -0
            o = 0x7FFF_FFFF_FFFF_FFFF
            """)
        #expect(document == [
            "a": .integer(99), "b": .integer(42), "c": .integer(0), "d": .integer(-17), "e": .integer(1000),
            "f": .integer(5_349_221), "g": .integer(0xDEADBEEF), "h": .integer(0xDEADBEEF), "i": .integer(0o1234567),
            "j": .integer(0b11010110), "k": .integer(.max), "l": .integer(.min), "m": .integer(0), "n": .integer(0),
            "o": .integer(.max),
        ])
    }

    @Test func floatsWithFractionsExponentsAndSpecialValues() throws {
        let document = try TOMLParser.parse("""
            a = +1.0
            b = 3.1415
            c = -0.01
            d = 5e+22
            e = 1e06
            f = -2E-2
            g = 6.626e-34
            h = 224_617.445_991_228
            i = inf
            j = +inf
            k = -inf
            l = 0.0
            m = -0.0
            n = 0e0
            """)
        #expect(document["a"] == .float(1.0))
        #expect(document["b"] == .float(3.1415))
        #expect(document["c"] == .float(-0.01))
        #expect(document["d"] == .float(5e22))
        #expect(document["e"] == .float(1e6))
        #expect(document["f"] == .float(-0.02))
        #expect(document["g"] == .float(6.626e-34))
        #expect(document["h"] == .float(224_617.445_991_228))
        #expect(document["i"] == .float(.infinity) && document["j"] == .float(.infinity))
        #expect(document["k"] == .float(-.infinity))
        #expect(document["l"] == .float(0) && document["n"] == .float(0))
        guard case .float(let negativeZero) = document["m"] else { Issue.record("m is not a float"); return }
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        for text in ["nan", "+nan", "-nan"] {
            guard case .float(let value) = try TOMLParser.parse("x = \(text)")["x"] else { Issue.record("\(text) is not a float"); continue }
            #expect(value.isNaN)
        }
    }

    @Test func booleans() throws {
        #expect(try TOMLParser.parse("a = true\nb = false") == ["a": .bool(true), "b": .bool(false)])
    }

    @Test func dateTimesAreValidatedAndKeptAsWritten() throws {
        let written = [
            "1979-05-27T07:32:00Z", "1979-05-27T00:32:00-07:00", "1979-05-27T00:32:00.999999-07:00",
            "1979-05-27 07:32:00Z", "1979-05-27t07:32:00z", "1979-05-27T07:32:00", "1979-05-27T00:32:00.999999",
            "1979-05-27", "07:32:00", "00:32:00.999999", "2000-02-29", "1990-12-31T23:59:60Z",
        ]
        for text in written {
            #expect(try TOMLParser.parse("d = \(text)\n") == ["d": .datetime(text)], "\(text)")
        }
        #expect(try TOMLParser.parse("d = [1979-05-27 , 07:32:00]") == ["d": .array([.datetime("1979-05-27"), .datetime("07:32:00")])])
    }

    // MARK: Arrays and inline tables

    @Test func arraysMixTypesSpanLinesAndAllowATrailingComma() throws {
        let document = try TOMLParser.parse("""
            empty = []
            nested = [ [ 1, 2 ], ["a", 'b'], [] ]
            mixed = [ 0.1, 1, "x", true, 1979-05-27, { k = 1 } ]
            lines = [ # comment after the bracket
              1, # one
              # a line of comment
              2,
            ]
            """)
        #expect(document == [
            "empty": .array([]),
            "nested": .array([.array([.integer(1), .integer(2)]), .array([.string("a"), .string("b")]), .array([])]),
            "mixed": .array([.float(0.1), .integer(1), .string("x"), .bool(true), .datetime("1979-05-27"),
                             .table(["k": .integer(1)])]),
            "lines": .array([.integer(1), .integer(2)]),
        ])
    }

    @Test func inlineTablesNestAndTakeDottedKeys() throws {
        let document = try TOMLParser.parse("""
            name = { first = "Tom", last = "Preston-Werner" }
            point = {x=1,y=2}
            animal = { type.name = "pug", type.size = "small" }
            empty = {}
            deep = { a = { b = [ { c = 1 } ] } }
            """)
        #expect(document == [
            "name": .table(["first": .string("Tom"), "last": .string("Preston-Werner")]),
            "point": .table(["x": .integer(1), "y": .integer(2)]),
            "animal": .table(["type": .table(["name": .string("pug"), "size": .string("small")])]),
            "empty": .table([:]),
            "deep": .table(["a": .table(["b": .array([.table(["c": .integer(1)])])])]),
        ])
    }

    @Test func sixtyFourNestedArraysAreAllowed() throws {
        let text = "a = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        var value = try #require(try TOMLParser.parse(text)["a"])
        for _ in 1..<64 {
            guard case .array(let elements) = value, elements.count == 1 else { Issue.record("not nested"); return }
            value = elements[0]
        }
        #expect(value == .array([]))
    }

    // MARK: Tables

    @Test func tablesSubTablesAndDottedKeysCombine() throws {
        let document = try TOMLParser.parse("""
            top = 0
            [dog."tater.man"]
            type.name = "pug"
            [ x . y . z . w ]
            [x]
            v = 1
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true
            [fruit.apple.texture]
            smooth = true
            """)
        #expect(document == [
            "top": .integer(0),
            "dog": .table(["tater.man": .table(["type": .table(["name": .string("pug")])])]),
            "x": .table(["v": .integer(1), "y": .table(["z": .table(["w": .table([:])])])]),
            "fruit": .table(["apple": .table([
                "color": .string("red"),
                "taste": .table(["sweet": .bool(true)]),
                "texture": .table(["smooth": .bool(true)]),
            ])]),
        ])
    }

    @Test func arraysOfTablesWithSubTables() throws {
        let document = try TOMLParser.parse("""
            [[fruits]]
            name = "apple"
            [fruits.physical]
            color = "red"
            [[fruits.varieties]]
            name = "red delicious"
            [[fruits.varieties]]
            name = "granny smith"

            [[fruits]]
            name = "banana"
            [[fruits.varieties]]
            name = "plantain"

            [[empty]]
            [[empty]]
            """)
        #expect(document == [
            "fruits": .array([
                .table([
                    "name": .string("apple"),
                    "physical": .table(["color": .string("red")]),
                    "varieties": .array([.table(["name": .string("red delicious")]), .table(["name": .string("granny smith")])]),
                ]),
                .table(["name": .string("banana"), "varieties": .array([.table(["name": .string("plantain")])])]),
            ]),
            "empty": .array([.table([:]), .table([:])]),
        ])
    }

    // MARK: Syntax errors

    @Test func aHeaderWithoutAKeyIsAnErrorNotACrash() {
        expectError("fps = 30\n[\n", line: 2, column: 2, "expected a key, found end of line")
        expectError("[\n", line: 1, column: 2, "expected a key, found end of line")
        expectError("[", line: 1, column: 2, "expected a key, found end of input")
        expectError("[[[x]]]\n", line: 1, column: 3, "expected a key, found '['")
        expectError("[ [x] ]\n", line: 1, column: 3, "expected a key, found '['")
        expectError("[[x] ]\n", line: 1, column: 4, "expected ']]'")
        expectError("[x\n", line: 1, column: 3, "expected ']' after the table name, found end of line")
        expectError("[a.]\n", line: 1, column: 4, "expected a key, found ']'")
        expectError("[a]]\n", line: 1, column: 4, "expected end of line, found ']'")
    }

    @Test func missingValuesKeysAndEquals() {
        expectError("a = \n", line: 1, column: 5, "expected a value, found end of line")
        expectError("a =", line: 1, column: 4, "expected a value, found end of input")
        expectError("= 1\n", line: 1, column: 1, "expected a key, found '='")
        expectError("key\n", line: 1, column: 4, "expected '=' after the key, found end of line")
        expectError("a = 1 b = 2\n", line: 1, column: 7, "expected end of line, found 'b'")
        expectError("x = 1\na = hello\n", line: 2, column: 5, "expected a value, found 'hello'")
        expectError("a = True\n", line: 1, column: 5, "expected a value, found 'True'")
        expectError("ä = 1\n", line: 1, column: 1, "expected a key, found 'ä'")
        expectError("\"\"\"a\"\"\" = 1\n", line: 1, column: 1, "a key cannot be a multi-line string")
    }

    @Test func unterminatedStringsPointAtTheOpeningQuote() {
        expectError("a = \"abc\nb = 1\n", line: 1, column: 5, "unterminated string")
        expectError("a = 'abc", line: 1, column: 5, "unterminated string")
        expectError("a = 1\nb = \"\"\"abc\n\n", line: 2, column: 5, "unterminated multi-line string")
        expectError("a = '''abc''", line: 1, column: 5, "unterminated multi-line string")
        expectError("\"key = 1\n", line: 1, column: 1, "unterminated string")
        expectError("a = \"abc\\", line: 1, column: 9, "unterminated string")
    }

    @Test func badEscapesAreRejected() {
        expectError(#"a = "\q""#, line: 1, column: 6, "invalid escape sequence: 'q' after '\\'")
        expectError(#"a = "\x41""#, line: 1, column: 6, "invalid escape sequence")
        expectError(#"a = "\e""#, line: 1, column: 6, "invalid escape sequence")
        expectError(#"a = "ab\u12""#, line: 1, column: 8, "\\u needs 4 hexadecimal digits")
        expectError(#"a = "\U0001F60""#, line: 1, column: 6, "\\U needs 8 hexadecimal digits")
        expectError(#"a = "\uD800""#, line: 1, column: 6, "U+D800 is not a Unicode scalar value")
        expectError(#"a = "\U00110000""#, line: 1, column: 6, "U+110000 is not a Unicode scalar value")
        expectError("a = \"\"\"x\\ y\"\"\"", line: 1, column: 9, "invalid escape sequence: ' ' after '\\'")
    }

    @Test func badIntegersAreErrorsNotTraps() {
        expectError("a = 9223372036854775808\n", line: 1, column: 5, "does not fit in 64 bits")
        expectError("a = -9223372036854775809\n", line: 1, column: 5, "does not fit in 64 bits")
        expectError("a = 0x8000000000000000\n", line: 1, column: 5, "does not fit in 64 bits")
        expectError("a = 99999999999999999999999999999999\n", line: 1, column: 5, "does not fit in 64 bits")
        expectError("a = 01\n", line: 1, column: 5, "leading zeros are not allowed")
        expectError("a = -012\n", line: 1, column: 6, "leading zeros are not allowed")
        expectError("a = 1__000\n", line: 1, column: 6, "an underscore in a number must be between two digits")
        expectError("a = 1_\n", line: 1, column: 6, "an underscore in a number must be between two digits")
        expectError("a = _1\n", line: 1, column: 5, "expected a value, found '_1'")
        expectError("a = 0x\n", line: 1, column: 7, "expected a digit, found end of line")
        expectError("a = 0xG1\n", line: 1, column: 7, "expected a digit, found 'G'")
        expectError("a = 0b102\n", line: 1, column: 9, "unexpected '2' in integer")
        expectError("a = -0x1\n", line: 1, column: 5, "cannot have a sign")
        expectError("a = 0X1\n", line: 1, column: 6, "unexpected 'X' in number")
        expectError("a = +\n", line: 1, column: 6, "expected a digit, found end of line")
    }

    @Test func badFloatsAreRejected() {
        expectError("a = 1.\n", line: 1, column: 7, "expected a digit, found end of line")
        expectError("a = .5\n", line: 1, column: 5, "expected a value, found '.5'")
        expectError("a = 1.e5\n", line: 1, column: 7, "expected a digit, found 'e'")
        expectError("a = 1e\n", line: 1, column: 7, "expected a digit, found end of line")
        expectError("a = 1.2.3\n", line: 1, column: 8, "unexpected '.' in number")
        expectError("a = 03.14\n", line: 1, column: 5, "leading zeros are not allowed")
        expectError("a = infinity\n", line: 1, column: 5, "expected a value, found 'infinity'")
        expectError("a = NaN\n", line: 1, column: 5, "expected a value, found 'NaN'")
    }

    @Test func badDateTimesAreRejected() {
        expectError("a = 1979-13-27\n", line: 1, column: 5, "month must be 01 to 12")
        expectError("a = 1979-02-29\n", line: 1, column: 5, "day out of range for the month")
        expectError("a = 1900-02-29\n", line: 1, column: 5, "day out of range for the month")
        expectError("a = 1979-04-31\n", line: 1, column: 5, "day out of range for the month")
        expectError("a = 1979-05-27T24:00:00\n", line: 1, column: 5, "hour must be 00 to 23")
        expectError("a = 07:60:00\n", line: 1, column: 5, "minute must be 00 to 59")
        expectError("a = 07:32:61\n", line: 1, column: 5, "second must be 00 to 60")
        expectError("a = 07:32\n", line: 1, column: 5, "expected HH:MM:SS")
        expectError("a = 1979-5-27\n", line: 1, column: 5, "expected YYYY-MM-DD")
        expectError("a = 1979-05-27T07:32:00+7:00\n", line: 1, column: 5, "expected a +HH:MM offset")
        expectError("a = 1979-05-27T07:32:00.\n", line: 1, column: 5, "expected digits after the decimal point")
        expectError("a = 07:32:00Z\n", line: 1, column: 5, "unexpected 'Z'")
        expectError("a = 1979-05-27X07:32:00\n", line: 1, column: 5, "expected T between date and time")
        expectError("a = 1979-05-27 07:32\n", line: 1, column: 5, "expected HH:MM:SS")
    }

    @Test func inlineTablesStayOnOneLineWithoutATrailingComma() {
        expectError("a = { b = 1, }\n", line: 1, column: 12, "an inline table cannot end with a comma")
        expectError("a = { b = 1\n}\n", line: 1, column: 12, "expected ',' or '}' in an inline table, found end of line")
        expectError("a = {\nb = 1 }\n", line: 1, column: 6, "expected a key, found end of line")
        expectError("a = { b = 1 c = 2 }\n", line: 1, column: 13, "expected ',' or '}' in an inline table, found 'c'")
        expectError("a = { , }\n", line: 1, column: 7, "expected a key, found ','")
    }

    @Test func arraysNeedCommasAndAClosingBracket() {
        expectError("a = [1 2]\n", line: 1, column: 8, "expected ',' or ']' in an array, found '2'")
        expectError("a = [1,,2]\n", line: 1, column: 8, "expected a value, found ','")
        expectError("a = [,]\n", line: 1, column: 6, "expected a value, found ','")
        expectError("a = [1,\n2\n", line: 3, column: 1, "expected ',' or ']' in an array, found end of input")
    }

    @Test func deepNestingIsAnErrorNotAStackOverflow() {
        let brackets = String(repeating: "[", count: 10_000)
        expectError("a = " + brackets, line: 1, column: 69, "nested deeper than 64")
        expectError(brackets, line: 1, column: 3, "expected a key, found '['")
        expectError("a = " + String(repeating: "{b=", count: 10_000), line: 1, column: 5 + 64 * 3, "nested deeper than 64")
        expectError("[x]\na = " + String(repeating: "[", count: 64), line: 2, column: 68, "nested deeper than 64")
        let longKey = Array(repeating: "k", count: 100).joined(separator: ".")
        expectError(longKey + " = 1\n", line: 1, column: 129, "a key can have at most 64 parts")
        expectError("[" + longKey + "]\n", line: 1, column: 130, "a key can have at most 64 parts")
        let sixtyFourParts = Array(repeating: "k", count: 64).joined(separator: ".")
        expectError("[a.b]\n" + sixtyFourParts + " = 1\n", line: 2, column: 1, "nested deeper than 64")
        // An array of tables is two levels, the array and its element, as in the value that comes out.
        let sixtyThreeParts = Array(repeating: "k", count: 63).joined(separator: ".")
        #expect(failure("[[" + sixtyThreeParts + "]]\n") == nil)
        expectError("[[" + sixtyFourParts + "]]\n", line: 1, column: 3, "nested deeper than 64")
    }

    // MARK: Control characters and encoding

    @Test func controlCharactersAreRejectedAndEscapedInMessages() {
        expectError("a = \"x\u{0}\"\n", line: 1, column: 7, "control character '\\u{0}' must be escaped in a string")
        expectError("a = \"\u{1B}[31m\"\n", line: 1, column: 6, "control character '\\u{1b}' must be escaped")
        expectError("a = 'x\u{1B}'\n", line: 1, column: 7, "control character '\\u{1b}' is not allowed in a literal string")
        expectError("a = '''\u{7F}'''\n", line: 1, column: 8, "control character '\\u{7f}' is not allowed in a literal string")
        expectError("a = \"\"\"\u{0}\"\"\"\n", line: 1, column: 8, "control character '\\u{0}' must be escaped")
        expectError("# comment \u{1B}[2J\n", line: 1, column: 11, "control character '\\u{1b}' is not allowed in a comment")
        expectError("# \u{7F}\n", line: 1, column: 3, "control character '\\u{7f}' is not allowed in a comment")
        expectError("a = 1\u{0}\n", line: 1, column: 6, "expected end of line, found '\\u{0}'")
        expectError("\u{1B} = 1\n", line: 1, column: 1, "expected a key, found '\\u{1b}'")
        expectError("a = \u{1B}\n", line: 1, column: 5, "expected a value, found '\\u{1b}'")
        expectError("a = 1\rb = 2\n", line: 1, column: 6, "expected end of line, found '\\u{d}'")
        expectError("a = \"x\ry\"\n", line: 1, column: 7, "control character '\\u{d}' must be escaped")
        expectError("a = '\u{202E}x' \u{202E}\n", line: 1, column: 10, "expected end of line, found '\\u{202e}'")
    }

    @Test func noControlByteReachesAnyMessage() {
        let templates = ["X", "a = X", "a = \"X\"", "a = 'X'", "a = \"\"\"X\"\"\"", "# X", "[X]", "a = [X]", "a = {X}", "\"X\" = 1", "a = 1X"]
        for template in templates {
            for value in Array(0x00...0x1F) + [0x7F, 0x80, 0x9B, 0x200B, 0x2028, 0xFEFF] {
                let scalar = Unicode.Scalar(UInt32(value))!
                let text = template.replacingOccurrences(of: "X", with: String(Character(scalar)))
                guard let error = failure(text) else { continue }
                #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 },
                        "\(text.debugDescription): \(error.message.debugDescription)")
            }
        }
    }

    @Test func invalidUTF8IsRejectedAtTheBadByte() {
        #expect(failure(bytes: Array("a = \"x".utf8) + [0xFF] + Array("\"".utf8))
            == TOMLError(line: 1, column: 7, message: "invalid UTF-8 (byte 0xff)"))
        // Columns count scalars: "é" before the bad byte is one column.
        #expect(failure(bytes: Array("a = 1\nb = \"é".utf8) + [0xC3, 0x28, 0x22])
            == TOMLError(line: 2, column: 7, message: "invalid UTF-8 (byte 0xc3)"))
        #expect(failure(bytes: Array("# ".utf8) + [0xC0, 0xAF])?.column == 3)  // overlong "/"
        #expect(failure(bytes: Array("# ".utf8) + [0xED, 0xA0, 0x80])?.column == 3)  // a surrogate
        #expect(failure(bytes: Array("# ".utf8) + [0xF4, 0x90, 0x80, 0x80])?.column == 3)  // past U+10FFFF
        #expect(failure(bytes: Array("a = 'é".utf8) + [0xE2, 0x82])?.column == 7)  // cut short at the end
        #expect(failure(bytes: [0x80]) == TOMLError(line: 1, column: 1, message: "invalid UTF-8 (byte 0x80)"))
    }

    @Test func inputOverOneMebibyteIsRejected() {
        let text = "# " + String(repeating: "x", count: TOMLParser.maxInputBytes)
        #expect(failure(text)?.message.contains("larger than the limit of 1048576") == true)
        #expect(failure(bytes: Array(text.utf8))?.line == 1)
    }

    // MARK: Redefinition rules

    @Test func duplicateKeysAreRejected() {
        expectError("a = 1\na = 2\n", line: 2, column: 1, "duplicate key 'a'")
        expectError("a = 1\n\"a\" = 2\n", line: 2, column: 1, "duplicate key 'a'")
        expectError("a.b = 1\na.b = 2\n", line: 2, column: 1, "duplicate key 'a.b'")
        expectError("[t]\nx = 1\n  'x' = 2\n", line: 3, column: 3, "duplicate key 'x'")
        expectError("a = { b = 1, b = 2 }\n", line: 1, column: 14, "duplicate key 'b'")
        expectError("\"a b\" = 1\n'a b' = 2\n", line: 2, column: 1, "duplicate key '\"a b\"'")
    }

    @Test func aTableCannotBeDefinedTwice() {
        expectError("[a]\nb = 1\n[a]\nc = 2\n", line: 3, column: 2, "table [a] is already defined")
        expectError("[a]\nb = 1\n[a.b]\n", line: 3, column: 2, "cannot define [a.b]: 'a.b' is already an integer")
        expectError("a.b = 1\n[a]\n", line: 2, column: 2, "table [a] is already defined by dotted keys")
        expectError("[fruit]\napple.color = 'red'\n[fruit.apple]\n", line: 3, column: 2, "table [fruit.apple] is already defined by dotted keys")
        expectError("[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", line: 4, column: 1, "table 'b.c' is defined by its own [header]")
        expectError("[a.b]\n[a]\nb = 1\n", line: 3, column: 1, "duplicate key 'b'")
        expectError("a = 1\n[a.b]\n", line: 2, column: 2, "cannot define [a.b]: 'a' is already an integer")
    }

    @Test func inlineTablesAndStaticArraysCannotBeExtended() {
        expectError("a = { b = 1 }\na.c = 2\n", line: 2, column: 1, "'a' is an inline table, which cannot be extended")
        expectError("a = {}\n[a]\n", line: 2, column: 2, "cannot define [a]: 'a' is already an inline table")
        expectError("a = {}\n[a.b]\n", line: 2, column: 2, "cannot define [a.b]: 'a' is already an inline table")
        expectError("a = { b = { c = 1 }, b.d = 2 }\n", line: 1, column: 22, "'b' is an inline table, which cannot be extended")
        expectError("a = []\n[[a]]\n", line: 2, column: 3, "cannot define [[a]]: 'a' is a static array, which cannot be extended")
        expectError("a = [{ b = 1 }]\n[a.c]\n", line: 2, column: 2, "'a' is already an array")
    }

    @Test func tablesAndArraysOfTablesDoNotMix() {
        expectError("[a]\n[[a]]\n", line: 2, column: 3, "cannot define [[a]]: 'a' is already a table")
        expectError("[a.b]\n[[a]]\n", line: 2, column: 3, "cannot define [[a]]: 'a' is already a table")
        expectError("[[a]]\n[a]\n", line: 2, column: 2, "cannot define [a]: it is already an array of tables")
        expectError("[[a]]\nb = 1\n[x]\na.c = 1\n[a]\n", line: 5, column: 2, "it is already an array of tables")
        expectError("[[a.b]]\n[a]\nb.c = 1\n", line: 3, column: 1, "'b' is an array of tables")
    }

    // MARK: Errors as values

    @Test func errorsDescribeTheirPlace() {
        let error = TOMLError(line: 2, column: 2, message: "expected a key, found end of line")
        #expect(error.description == "line 2, column 2: expected a key, found end of line")
        #expect(failure("fps = 30\n[\n") == error)
    }
}
