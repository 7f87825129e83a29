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
                Issue.record("fuzz/corpus/\(target.rawValue)/\(name): \(error)")
            }
        }
    }

}
