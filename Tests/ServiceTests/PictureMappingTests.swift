// rotate and flip as the Orientation the camera's converters and the lossless transform take.
import Capture
import JPEG
@testable import Service
import Settings
import Testing

struct PictureMappingTests {
    @Test func rotateAndFlipBecomeTheCamerasOrientation() throws {
        var config = Config()
        #expect(V4L2Settings(path: "/dev/video0", config: config).orientation == .identity)
        for degrees in [0, 90, 180, 270] {
            for flip in PictureFlip.allCases {
                config.rotate = degrees
                config.flip = flip
                let orientation = V4L2Settings(path: "/dev/video0", config: config).orientation
                #expect(orientation.rotation.rawValue == degrees && orientation.flip.rawValue == flip.rawValue)
            }
        }
        // Checked as the config file and camctl set check them.
        try config.set("rotate", .integer(270))
        try config.set("flip", .string("vertical"))
        #expect(config.orientation.transform == .transverse)
        #expect(throws: ConfigError.self) { try config.set("rotate", .integer(45)) }
        #expect(throws: ConfigError.self) { try config.set("flip", .string("both")) }
    }
}
