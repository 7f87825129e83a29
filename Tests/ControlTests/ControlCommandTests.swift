// The control protocol's command lines, including the ones an operator gets wrong.
import CamdSystem
@testable import Control
import Testing
import Wire

struct ControlCommandTests {
    @Test(arguments: [
        ("status", ControlCommand.status), ("clients", .clients), ("reload", .reload), ("help", .help),
        ("  STATUS \r", .status), ("kick 17", .kick(id: 17)), ("set fps 12.5", .set(key: "fps", value: "12.5")),
        ("set MAX_CLIENTS 10", .set(key: "max_clients", value: "10")), ("set quality\t90", .set(key: "quality", value: "90")),
        // Whether a key may be set live is the daemon's answer (from the key table), not the parser's.
        ("set source v4l2:/dev/video1", .set(key: "source", value: "v4l2:/dev/video1")), ("set colour blue", .set(key: "colour", value: "blue")),
    ])
    func validLinesParse(line: String, expected: ControlCommand) throws {
        #expect(try ControlCommand.parse(line).get() == expected)
    }

    @Test(arguments: [
        ("", "empty command"),
        ("launch", "unknown command \"launch\""),
        ("kick", "usage: kick <id>"),
        ("kick seven", "usage: kick <id>"),
        ("kick -1", "usage: kick <id>"),
        ("set fps", "usage: set <key> <value>"),
        ("set fps 1 2", "usage: set <key> <value>"),
        ("status now", "status takes no arguments"),
    ])
    func badLinesSayWhatIsWrong(line: String, message: String) {
        guard case .failure(let error) = ControlCommand.parse(line) else {
            Issue.record("\(line) parsed")
            return
        }
        #expect(error.description.contains(message), "\(error)")
    }

    /// Found by the control fuzz target (fuzz/corpus/control/reject-escape-in-*.txt): the error echoed an unknown
    /// verb raw, and `set` carried an ESC or a line break into camd's log line of the command.
    @Test(arguments: ["\u{1B}[2Jstatus", "set source \u{1B}]0;title\u{07}", "set fps 3\u{0}0", "kick 1\u{7F}", "set source caf\u{85}"])
    func controlCharactersRefuseTheLineAndStayOutOfTheError(line: String) {
        guard case .failure(let error) = ControlCommand.parse(line) else {
            Issue.record("\(line.debugDescription) parsed")
            return
        }
        #expect(error.description == "control characters are not allowed in a command")
    }

    @Test func helpNamesTheKeysSetCanChange() {
        let usage = ControlCommand.usage(settableKeys: ["fps", "quality"])
        #expect(usage["set <key> <value>"] == "change fps, quality now (validated like the config file)")
        #expect(Set(usage.keys) == ["status", "clients", "kick <id>", "set <key> <value>", "reload", "help"])
    }

    @Test func errorRepliesAreOneJSONLineWithTheMessageEscaped() {
        let line = String(decoding: ControlServer.errorLine("bad \"quote\"\nnext"), as: UTF8.self)
        #expect(line == "{\"error\":\"bad \\\"quote\\\"\\nnext\"}\n")
    }

    @Test func accessAllowsRootOwnUserAndGroupMembersOnly() {
        let access = ControlAccess(gid: 500, groupName: "camd")
        #expect(access.allows(PeerCredentials(pid: 1, uid: 0, gid: 0, groups: []), ownUID: 999))
        #expect(access.allows(PeerCredentials(pid: 1, uid: 999, gid: 999, groups: []), ownUID: 999))
        #expect(access.allows(PeerCredentials(pid: 1, uid: 1000, gid: 500, groups: []), ownUID: 999))
        #expect(access.allows(PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [27, 500]), ownUID: 999))
        #expect(!access.allows(PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [27]), ownUID: 999))
        #expect(!ControlAccess(gid: nil, groupName: nil).allows(PeerCredentials(pid: 1, uid: 1000, gid: 500, groups: []), ownUID: 999))
    }
}
