// Errors from system calls, and the one helper through which camd makes them.
#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, and the errno it left.
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    public let call: String
    public let errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// The kernel's words for the errno ("Connection refused"), as strerror(3) gives them: for messages that put
    /// their own context in front. The one place camd turns an errno into text.
    public var message: String { String(cString: strerror(errno)) }

    public var description: String { "\(call): \(message)" }
}

/// The result of a non-blocking call: done with a value, or the kernel said "try again later".
public enum IOResult<T> {
    case done(T)
    case wouldBlock
}

extension IOResult: Sendable where T: Sendable {}

/// Runs a syscall returning -1 on failure: reads errno at once, retries EINTR, throws anything else.
/// EBADF and EFAULT are camd's own bugs, not conditions to handle: they trap.
@inline(never)
public func syscall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let err = Glibc.errno
        if err == EINTR { continue }
        precondition(err != EBADF && err != EFAULT, "\(name()) failed with \(err): a camd bug")
        throw SystemError(name(), errno: err)
    }
}

/// Like `syscall`, but EAGAIN/EWOULDBLOCK become `.wouldBlock` instead of an error.
@inline(never)
public func nonBlockingSyscall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> IOResult<T> {
    while true {
        let result = body()
        if result != -1 { return .done(result) }
        let err = Glibc.errno
        if err == EINTR { continue }
        if err == EAGAIN || err == EWOULDBLOCK { return .wouldBlock }
        precondition(err != EBADF && err != EFAULT, "\(name()) failed with \(err): a camd bug")
        throw SystemError(name(), errno: err)
    }
}
