// Every committed fuzz corpus (fuzz/corpus/TARGET), replayed through its target's checks on each test run: an input
// that once broke a parser stays fixed, and the seeds keep meaning what their names say.
import CamdFuzz
import Foundation
import Testing

private var packageRoot: String {
    var url = URL(fileURLWithPath: #filePath)
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
    return url.path
}

/// Bugs the fuzzer found in code another branch owns, each with its reproducer in the corpus (`known-bug-*`). Their
/// checks are known issues here (and FUZZ_IGNORE in scripts/test.sh) until the fix lands; then
/// `openBugsStillReproduce` fails, and the entry, the FUZZ_IGNORE and the file's `known-bug-` prefix go.
private let openBugs: [String: String] = [
    "http-request-control-character":
        "HTTPRequestParser accepts control characters in the request target, and camd logs the path (HTTPRoutes)",
    "http-reject-reason-control-character":
        "HTTPRequestParser's 505 reason echoes the request's version raw, and camd logs the reason",
]

struct CorpusReplayTests {
    @Test(arguments: FuzzTarget.allCases)
    func everyCorpusFilePassesItsTargetsChecks(target: FuzzTarget) throws {
        let directory = packageRoot + "/fuzz/corpus/" + target.rawValue
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names.count >= 10, "fuzz/corpus/\(target.rawValue) has \(names.count) files")
        for name in names {
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + name))
            do {
                try target.check([UInt8](bytes))
            } catch {
                if let bug = openBugs[error.check] {
                    withKnownIssue(Comment(rawValue: bug)) { Issue.record("fuzz/corpus/\(target.rawValue)/\(name): \(error)") }
                } else {
                    Issue.record("fuzz/corpus/\(target.rawValue)/\(name): \(error)")
                }
            }
        }
    }

    @Test func openBugsStillReproduce() throws {
        let directory = packageRoot + "/fuzz/corpus/http"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("known-bug-") }.sorted()
        #expect(names.count == openBugs.count)
        for name in names {
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + name))
            withKnownIssue("open bug, reproduced by \(name) (once it passes, remove it from openBugs)") {
                try FuzzTarget.http.check([UInt8](bytes))
            }
        }
    }
}
