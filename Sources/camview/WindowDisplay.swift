// WindowDisplay: the SDL2 window (placeholder until the SDL2 target lands).
import Viewer

struct DisplayError: Error, CustomStringConvertible { let description: String }

struct WindowDisplay {
    static func open(title: String) -> Result<WindowDisplay, DisplayError> {
        .failure(DisplayError(description: "this camview was built without SDL2"))
    }

    mutating func run(_ session: ViewerSession) -> String? { nil }
}
