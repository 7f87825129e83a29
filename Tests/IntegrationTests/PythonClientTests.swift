// The Python example client (examples/camd_client.py) decodes camd's frames with OpenCV.
import Foundation
import Testing
import TestSupport

private let pythonWithOpenCV: Bool = {
    guard let python = which("python3") else { return false }
    return (try? runCommand(python, ["-c", "import cv2, numpy"], timeout: 30).status) == 0
}()

extension CamdIntegrationTests {
    /// Runs wherever OpenCV is installed, and always in CI (where .ci/run installs it), so it cannot pass by skipping there.
    @Test(.enabled(if: pythonWithOpenCV || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs python3 with opencv-python-headless"))
    func pythonExampleClientDecodesFramesWithOpenCV() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let python = try #require(which("python3"))
        let result = try runCommand(python, [Binaries.packageRoot + "/examples/camd_client.py", "127.0.0.1", "\(camd.port)", "5"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 5, "\(result.stdout)")
        var last = 0
        for line in lines {
            let fields = line.split(separator: " ")
            #expect(fields.count == 4 && fields[0] == "frame" && fields[2] == "320x240" && fields[3] == "placeholder=0", "\(line)")
            let sequence = Int(fields[1]) ?? 0
            #expect(sequence > last)
            last = sequence
        }
        #expect(camd.stop() == 0)
    }
}
