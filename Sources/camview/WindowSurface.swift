// WindowSurface: the SDL2 side of the window — it owns the SDL window, renderer and streaming texture, decodes
// JPEG straight into the locked texture, draws picture and overlay, and turns SDL events into WindowEvents.
// Every SDL call and raw pointer of the window lives in this file.
#if canImport(Glibc)
import Glibc
#endif
import CSDL2
import JPEG

/// What the display loop needs to know about SDL's events.
enum WindowEvent {
    /// The window was closed, or SIGINT/SIGTERM arrived (SDL turns both into SDL_QUIT).
    case quit
    /// A key went down (not auto-repeat): its character for printable keys, "\u{1B}" for Escape.
    case key(Character)
    /// The window changed size; `byUser` when the user or the window manager did it rather than camview.
    case resized(byUser: Bool)
    /// Anything else about the window (exposed, shown, moved): draw again.
    case changed
}

final class WindowSurface {
    private let window: OpaquePointer
    private let renderer: OpaquePointer
    /// The streaming texture frames are decoded into, and its size; recreated when the decode size changes.
    private var texture: OpaquePointer?
    private(set) var textureSize: JPEGInfo?
    private var closed = false
    /// The main thread's signal mask before `open` unblocked SIGINT and SIGTERM; restored by `close`.
    private let previousSignalMask: sigset_t

    /// SDL_PIXELFORMAT_XRGB8888 is a native-endian 32-bit word 0x00RRGGBB, most renderers' own format (no conversion
    /// on upload): in memory B, G, R, X on little-endian machines, X, R, G, B on big-endian ones.
    private static let pixelFormat = SDL_PIXELFORMAT_XRGB8888.rawValue
    #if _endian(little)
    private static let decodedFormat = DecodedPixelFormat.bgrx
    #else
    private static let decodedFormat = DecodedPixelFormat.xrgb
    #endif

    private init(window: OpaquePointer, renderer: OpaquePointer, previousSignalMask: sigset_t) {
        self.window = window
        self.renderer = renderer
        self.previousSignalMask = previousSignalMask
    }

    /// Initialises SDL video and opens a resizable window with a renderer; fails with SDL's reason (no display,
    /// no usable video driver) and leaves SDL shut down.
    static func open(title: String, width: Int, height: Int) -> Result<WindowSurface, DisplayError> {
        // Left to itself, SDL 2.26 falls through every driver that fails (a DISPLAY that does not answer) down to its
        // "offscreen" one, which succeeds and shows nothing. So: the driver the environment names, and never an
        // invisible one unless the user asked for it with SDL_VIDEODRIVER.
        let chosen = environment("SDL_VIDEODRIVER").flatMap { $0.isEmpty ? nil : $0 }
        let named: (driver: String, variable: String, value: String)? =
            if let value = environment("DISPLAY") { ("x11", "DISPLAY", value) }
            else if let value = environment("WAYLAND_DISPLAY") { ("wayland", "WAYLAND_DISPLAY", value) }
            else { nil }
        if chosen == nil, let named { _ = SDL_SetHint(SDL_HINT_VIDEODRIVER, named.driver) }
        let previousSignalMask = unblockQuitSignals()
        guard SDL_Init(SDL_INIT_VIDEO) == 0 else {
            let error = DisplayError(description: named.map { "\($0.variable)=\($0.value): \(lastError)" } ?? lastError)
            quit(restoring: previousSignalMask)
            return .failure(error)
        }
        let driver = SDL_GetCurrentVideoDriver().map { String(cString: $0) } ?? "none"
        if chosen == nil, driver == "offscreen" || driver == "dummy" {
            quit(restoring: previousSignalMask)
            return .failure(DisplayError(description: "no display: SDL found only its \(driver) video driver"))
        }
        // Smooth scaling when the picture is stretched or shrunk to the window.
        _ = SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear")
        let centred = Int32(SDL_WINDOWPOS_CENTERED_MASK)
        let flags = SDL_WINDOW_RESIZABLE.rawValue | SDL_WINDOW_ALLOW_HIGHDPI.rawValue
        guard let window = SDL_CreateWindow(title, centred, centred, Int32(width), Int32(height), flags) else {
            let error = DisplayError(description: "SDL_CreateWindow: \(lastError)")
            quit(restoring: previousSignalMask)
            return .failure(error)
        }
        // Flags 0: an accelerated renderer when there is one, else SDL's software renderer (Xvfb, plain X servers).
        guard let renderer = SDL_CreateRenderer(window, -1, 0) else {
            let error = DisplayError(description: "SDL_CreateRenderer: \(lastError)")
            SDL_DestroyWindow(window)
            quit(restoring: previousSignalMask)
            return .failure(error)
        }
        return .success(WindowSurface(window: window, renderer: renderer, previousSignalMask: previousSignalMask))
    }

    /// Destroys texture, renderer and window and shuts SDL down (idempotent; deinit calls it too).
    func close() {
        guard !closed else { return }
        closed = true
        if let texture { SDL_DestroyTexture(texture) }
        texture = nil
        SDL_DestroyRenderer(renderer)
        SDL_DestroyWindow(window)
        Self.quit(restoring: previousSignalMask)
    }

    /// SDL turns SIGINT and SIGTERM into SDL_QUIT with handlers of its own, which never run while the signals are
    /// blocked — and a parent can hand camview a mask that blocks them (Foundation's Process passes its caller's on).
    /// Unblocked on the main thread only: the reader thread keeps its mask, so the handlers run here.
    private static func unblockQuitSignals() -> sigset_t {
        var quitSignals = sigset_t(), previous = sigset_t()
        sigemptyset(&quitSignals)
        sigaddset(&quitSignals, SIGINT)
        sigaddset(&quitSignals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &quitSignals, &previous)
        return previous
    }

    /// SDL_Quit (which puts back the signal handlers SDL replaced), then the mask as it was before `open`.
    private static func quit(restoring mask: sigset_t) {
        SDL_Quit()
        var mask = mask
        pthread_sigmask(SIG_SETMASK, &mask, nil)
    }

    deinit { close() }

    private static var lastError: String { String(cString: SDL_GetError()) }

    // MARK: Events

    /// Waits up to `timeoutMillis` for the first event, then collects whatever else is queued.
    /// Wakes `events(waitingUpTo:)` from another thread (the reader, when a frame arrives): SDL cannot wait on
    /// the mailbox's eventfd, but SDL_PushEvent is thread-safe.
    static func wake() {
        var event = SDL_Event()
        event.type = SDL_USEREVENT.rawValue
        _ = SDL_PushEvent(&event)
    }

    func events(waitingUpTo timeoutMillis: Int32) -> [WindowEvent] {
        var event = SDL_Event()
        var events: [WindowEvent] = []
        guard SDL_WaitEventTimeout(&event, max(0, timeoutMillis)) == 1 else { return events }
        repeat {
            if let translated = Self.translate(event) { events.append(translated) }
        } while SDL_PollEvent(&event) == 1
        return events
    }

    private static func translate(_ event: SDL_Event) -> WindowEvent? {
        switch event.type {
        case SDL_QUIT.rawValue:
            return .quit
        case SDL_KEYDOWN.rawValue where event.key.`repeat` == 0:
            let code = event.key.keysym.sym
            if code == SDLK_ESCAPE.rawValue { return .key("\u{1B}") }
            guard code >= 0x20, code < 0x7F, let scalar = Unicode.Scalar(UInt32(code)) else { return nil }
            return .key(Character(scalar))
        case SDL_WINDOWEVENT.rawValue:
            switch UInt32(event.window.event) {
            case SDL_WINDOWEVENT_RESIZED.rawValue: return .resized(byUser: true)
            case SDL_WINDOWEVENT_SIZE_CHANGED.rawValue: return .resized(byUser: false)
            default: return .changed
            }
        default:
            return nil
        }
    }

    // MARK: Window

    var isFullscreen: Bool { SDL_GetWindowFlags(window) & SDL_WINDOW_FULLSCREEN.rawValue != 0 }

    func toggleFullscreen() {
        _ = SDL_SetWindowFullscreen(window, isFullscreen ? 0 : SDL_WINDOW_FULLSCREEN_DESKTOP.rawValue)
    }

    func setTitle(_ title: String) { SDL_SetWindowTitle(window, title) }

    /// Sizes the window for a `width`×`height` picture — shrunk, aspect kept, to fit the screen's usable area —
    /// and, if `centre`, centres it (the first time; later the user may have moved it).
    func fit(width: Int, height: Int, centre: Bool) {
        var usable = SDL_Rect()
        var size = (width: width, height: height)
        let display = SDL_GetWindowDisplayIndex(window)
        if display >= 0, SDL_GetDisplayUsableBounds(display, &usable) == 0, usable.w > 0, usable.h > 0 {
            let bounds = WindowGeometry.letterbox(picture: JPEGInfo(width: width, height: height),
                                                  in: Int(usable.w) * 9 / 10, Int(usable.h) * 9 / 10)
            if bounds.width < width { size = (bounds.width, bounds.height) }
        }
        SDL_SetWindowSize(window, Int32(size.width), Int32(size.height))
        guard centre else { return }
        let centred = Int32(SDL_WINDOWPOS_CENTERED_MASK) | max(0, display)
        SDL_SetWindowPosition(window, centred, centred)
    }

    /// The drawable size in pixels (larger than the window's size in points on HiDPI screens).
    var outputSize: (width: Int, height: Int) {
        var width: Int32 = 0, height: Int32 = 0
        _ = SDL_GetRendererOutputSize(renderer, &width, &height)
        return (Int(width), Int(height))
    }

    // MARK: Picture

    enum UploadError: Error {
        /// SDL could not create or lock the texture: nothing more can be shown.
        case texture(String)
        /// This frame did not decode; the next one may.
        case decode(JPEGError)
    }

    /// Decodes `jpeg` at `size` (from WindowGeometry.decodeSize) straight into the streaming texture, recreating the
    /// texture when the size changed.
    func upload(_ jpeg: [UInt8], size: JPEGInfo, decoder: JPEGDecoder) throws(UploadError) {
        let texture = try texture(size)
        var pixels: UnsafeMutableRawPointer?
        var pitch: Int32 = 0
        guard SDL_LockTexture(texture, nil, &pixels, &pitch) == 0, let pixels else {
            throw .texture("SDL_LockTexture: \(Self.lastError)")
        }
        defer { SDL_UnlockTexture(texture) }
        // withUnsafeBytes rethrows untyped: carry the JPEGError out in a Result.
        let decoded = jpeg.withUnsafeBytes { bytes in
            Result { () throws(JPEGError) in
                try decoder.decode(bytes, into: pixels, size: size, pitch: Int(pitch), format: Self.decodedFormat)
            }
        }
        if case .failure(let error) = decoded { throw .decode(error) }
    }

    private func texture(_ size: JPEGInfo) throws(UploadError) -> OpaquePointer {
        if let texture, textureSize == size { return texture }
        if let texture { SDL_DestroyTexture(texture) }
        texture = nil
        textureSize = nil
        guard let created = SDL_CreateTexture(renderer, Self.pixelFormat, Int32(SDL_TEXTUREACCESS_STREAMING.rawValue),
                                              Int32(size.width), Int32(size.height)) else {
            throw .texture("cannot create a \(size.width)x\(size.height) texture: \(Self.lastError)")
        }
        // The X byte is not alpha: copy, never blend.
        _ = SDL_SetTextureBlendMode(created, SDL_BLENDMODE_NONE)
        texture = created
        textureSize = size
        return created
    }

    /// Draws one frame: black, the picture (if any) in `picture`, dimmed when it is not live, then the overlay.
    func present(picture: WindowRect?, dimmed: Bool, overlay: WindowOverlay?) {
        _ = SDL_SetRenderDrawColor(renderer, 0, 0, 0, 255)
        _ = SDL_RenderClear(renderer)
        if let picture, let texture {
            let level: UInt8 = dimmed ? 96 : 255
            _ = SDL_SetTextureColorMod(texture, level, level, level)
            var destination = Self.sdlRect(picture)
            _ = SDL_RenderCopy(renderer, texture, nil, &destination)
        }
        if let overlay {
            let output = outputSize
            let layout = overlay.layout(width: output.width, height: output.height)
            _ = SDL_SetRenderDrawBlendMode(renderer, SDL_BLENDMODE_BLEND)
            _ = SDL_SetRenderDrawColor(renderer, 0, 0, 0, 176)
            var bar = Self.sdlRect(layout.bar)
            _ = SDL_RenderFillRect(renderer, &bar)
            let text = Self.textColour(overlay.tone)
            _ = SDL_SetRenderDrawColor(renderer, text.r, text.g, text.b, 255)
            let rects = layout.glyphPixels.map(Self.sdlRect)
            _ = SDL_RenderFillRects(renderer, rects, Int32(rects.count))
            _ = SDL_SetRenderDrawBlendMode(renderer, SDL_BLENDMODE_NONE)
        }
        SDL_RenderPresent(renderer)
    }

    /// Near-white for the live stream, amber when the picture is not live (the tests look for the near-white).
    static func textColour(_ tone: WindowOverlay.Tone) -> (r: UInt8, g: UInt8, b: UInt8) {
        switch tone {
        case .info: (240, 240, 240)
        case .warning: (255, 184, 48)
        }
    }

    private static func sdlRect(_ rect: WindowRect) -> SDL_Rect {
        SDL_Rect(x: Int32(rect.x), y: Int32(rect.y), w: Int32(rect.width), h: Int32(rect.height))
    }
}
