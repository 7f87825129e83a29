// TerminalDisplay: placeholder.
import Viewer

struct TerminalDisplay {
    static func open(graphics: TerminalGraphics) -> Result<TerminalDisplay, DisplayError> {
        .failure(DisplayError(description: "not yet"))
    }

    mutating func run(_ session: ViewerSession) -> String? { nil }
}
