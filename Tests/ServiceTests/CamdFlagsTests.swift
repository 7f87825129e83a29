// camd's command line against the key table: one option per key that has a flag, named, described and read
// as the table says, and no option the table does not know.
@testable import camd
import Foundation
import Settings
import Testing

struct CamdFlagsTests {
    /// camd's options that are not config keys.
    static let commandOptions: Set<String> = ["config", "check-config", "hash-password", "list-formats", "help", "version"]

    @Test func everyKeyWithAFlagHasExactlyOneOptionAndEveryOptionIsAKey() throws {
        let flagged = ConfigKey.all.filter { $0.flag != nil }
        #expect(Set(try Camd.parse([]).flagTexts.keys) == Set(flagged.map(\.name)))
        let help = Camd.helpMessage(columns: 10_000)
        // One line per option at this width: "  --fps <fps>   Frames per second…" (also "  -h, --help").
        let options = help.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ").map { $0.trimmingCharacters(in: [","]) }
            return words.prefix(2).first { $0.hasPrefix("--") }.map { String($0.dropFirst(2)) }
        }
        #expect(Set(options).subtracting(Self.commandOptions) == Set(flagged.compactMap(\.flag?.name)))
        for key in flagged {
            #expect(help.contains(key.flagHelp), "\(key.name): --help does not say \(key.flagHelp)")
        }
    }

    @Test(arguments: ConfigKey.all.filter { $0.flag != nil }.map(\.name))
    func eachOptionOverridesItsOwnKey(name: String) throws {
        let flag = try #require(ConfigKey.named(name)?.flag)
        let camd = try Camd.parse(["--\(flag.name)", "7"])
        let overrides = camd.overrides
        #expect(overrides.map(\.key) == [name])
        #expect(overrides.first?.value == flag.value(["7"]))
    }

    @Test func overridesFollowTheTableOrder() throws {
        let camd = try Camd.parse(["--control-group", "x", "--fps", "5", "--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2",
                                   "--http-listen", "off", "--control", "gain=3"])
        #expect(camd.overrides.map(\.key) == ["listen", "http_listen", "fps", "controls", "control_group"])
        #expect(camd.overrides.first?.value == .list([.string("127.0.0.1:1"), .string("127.0.0.1:2")]))
        #expect(camd.overrides[1].value == .list([]))
        #expect(camd.overrides[3].value == .table(["gain": .integer(3)]))
    }
}
