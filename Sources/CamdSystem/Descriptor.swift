// Descriptor: the single owner of one file descriptor.
#if canImport(Glibc)
import Glibc
#endif

/// Owns one file descriptor. The raw value is lent out through `withRawValue`; whoever holds the
/// Descriptor closes it exactly once. Not Sendable: an fd lives on the thread that owns it.
public final class Descriptor {
    private var fd: Int32

    /// Takes ownership of `fd`.
    public init(taking fd: Int32) {
        precondition(fd >= 0, "invalid file descriptor \(fd)")
        self.fd = fd
    }

    public var isOpen: Bool { fd >= 0 }

    /// Lends the raw descriptor for the duration of `body`.
    @inlinable
    public func withRawValue<R, E: Error>(_ body: (Int32) throws(E) -> R) throws(E) -> R {
        precondition(isOpen, "use of a closed descriptor")
        return try body(rawValue)
    }

    @usableFromInline var rawValue: Int32 { fd }

    /// The raw value for logging and epoll bookkeeping only.
    public var number: Int32 { fd }

    /// Closes the descriptor. Never retried on EINTR: on Linux the fd is gone either way.
    public func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    deinit {
        assert(fd < 0, "Descriptor \(fd) was never closed")
        if fd >= 0 { _ = Glibc.close(fd) }
    }
}

@available(*, unavailable)
extension Descriptor: Sendable {}
