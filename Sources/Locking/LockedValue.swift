// LockedValue: a value behind a pthread mutex, for state shared between camd's threads.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value that threads read and change only inside `withLock`, as with `Synchronization.Mutex`.
///
/// Why not `Mutex`: on Linux its contended path is a PI futex inside the Swift runtime's own library, which
/// ThreadSanitizer neither instruments nor intercepts. A thread that waited for the lock therefore carries no
/// happens-before edge from the last holder, and TSan reports every access made under a contended `Mutex` as a
/// data race (a two-thread counter under `Mutex` counts exactly and still draws "Swift access race" reports).
/// `pthread_mutex_lock` is intercepted by TSan, so races found in camd's sanitized builds are real ones.
/// The cost is the same class of lock (glibc's mutex is a futex too) and one allocation per lock.
public final class LockedValue<Value>: @unchecked Sendable {
    // @unchecked: `value` is touched only between lock and unlock of `mutex`, which this class owns alone.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: sending Value) {
        self.value = value
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        let rc = pthread_mutex_destroy(mutex)
        assert(rc == 0, "pthread_mutex_destroy failed: \(rc) (destroyed while locked?)")
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock. `body` must not call `withLock` on the same value.
    public func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
