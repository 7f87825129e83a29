// The `format` key: every pixel format by its lower-case name, the aliases people use, and a clear refusal otherwise.
import Settings
import Testing

struct CameraFormatTests {
    @Test func everyNameAndAliasIsAcceptedAndShownByItsCanonicalName() throws {
        for format in CameraFormat.allCases {
            #expect(try ConfigLoader.parse("format = \"\(format.rawValue)\"").format == format)
        }
        for (alias, format) in [("i420", CameraFormat.yu12), ("gray", .grey), ("bggr", .ba81)] {
            #expect(try ConfigLoader.parse("format = \"\(alias)\"").format == format)
            #expect(CameraFormat(rawValue: alias)?.rawValue == format.rawValue)
        }
    }

    @Test func anUnknownNameIsRefusedListingTheAcceptedOnes() {
        for bad in ["NV12", "nv13", "", "yuv420"] {
            let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse("format = \"\(bad)\"") }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.hasPrefix("format = \"\(bad)\""), "\(text)")
            #expect(text.contains("\"nv12\"") && text.contains("\"rggb\"") && text.contains("\"rgb565\""), "\(text)")
        }
    }
}
