// OSThread: a named pthread running one closure, joined explicitly.
#if canImport(Glibc)
import Glibc
#endif
internal import CCamdLinux

public final class OSThread: Sendable {
    private let handle: pthread_t

    private final class Body {
        let name: String
        let run: () -> Void
        init(_ name: String, _ run: sending @escaping () -> Void) { self.name = name; self.run = run }
    }

    private init(handle: pthread_t) { self.handle = handle }

    /// Starts a thread named `name` (at most 15 characters are kept by the kernel). `body` is sent to the new
    /// thread: what it captures belongs to that thread alone from now on.
    public static func spawn(name: String, _ body: sending @escaping () -> Void) throws(SystemError) -> OSThread {
        let context = Unmanaged.passRetained(Body(name, body)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            ccamd_set_thread_name(body.name)
            body.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SystemError("pthread_create", errno: rc)
        }
        return OSThread(handle: tid)
    }

    public func join() {
        _ = pthread_join(handle, nil)
    }
}
