// Socket: the TCP calls camd makes (listen, accept, connect, writev, read, options).
// All unsafe pointer handling for sockets lives in this file.
#if canImport(Glibc)
import Glibc
#endif
internal import CCamdLinux

public enum Socket {
    /// A non-blocking listening TCP socket with SO_REUSEADDR (IPv6 listeners are IPv6-only).
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024) throws(SystemError) -> Descriptor {
        let fd = try syscall("socket") { Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let socket = Descriptor(taking: fd)
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
            if case .v6 = address {
                try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, "setsockopt(IPV6_V6ONLY)")
            }
            _ = try address.withSockaddr { (sa, len) throws(SystemError) in
                try syscall("bind \(address)") { Glibc.bind(fd, sa, len) }
            }
            _ = try syscall("listen \(address)") { Glibc.listen(fd, backlog) }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Accepts one connection (non-blocking, close-on-exec) or reports that none is pending.
    public static func accept(_ listener: Descriptor) throws(SystemError) -> IOResult<(Descriptor, SocketAddress?)> {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { (p) throws(SystemError) -> IOResult<Int32> in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sp) throws(SystemError) -> IOResult<Int32> in
                try listener.withRawValue { (fd) throws(SystemError) in
                    try nonBlockingSyscall("accept4") { ccamd_accept(fd, sp, &len) }
                }
            }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .done(let fd): return .done((Descriptor(taking: fd), SocketAddress(storage: storage)))
        }
    }

    /// A blocking TCP connection (for clients: camview, tests).
    public static func connect(to address: SocketAddress) throws(SystemError) -> Descriptor {
        let fd = try syscall("socket") { Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let socket = Descriptor(taking: fd)
        do {
            _ = try address.withSockaddr { (sa, len) throws(SystemError) in
                try syscall("connect \(address)") { Glibc.connect(fd, sa, len) }
            }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Starts a non-blocking connect; completion is signalled by writability.
    public static func connectNonBlocking(to address: SocketAddress) throws(SystemError) -> Descriptor {
        let fd = try syscall("socket") { Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let socket = Descriptor(taking: fd)
        let rc = try address.withSockaddr { (sa, len) in Glibc.connect(fd, sa, len) }
        if rc == -1 && errno != EINPROGRESS {
            let err = errno
            socket.close()
            throw SystemError("connect \(address)", errno: err)
        }
        return socket
    }

    /// The address a socket is bound to (to learn the port after binding port 0).
    public static func localAddress(_ socket: Descriptor) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { (p) throws(SystemError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sp) throws(SystemError) in
                try socket.withRawValue { (fd) throws(SystemError) in
                    try syscall("getsockname") { getsockname(fd, sp, &len) }
                }
            }
        }
        guard let address = SocketAddress(storage: storage) else { throw SystemError("getsockname", errno: EAFNOSUPPORT) }
        return address
    }

    /// Writes what is left of `parts` (header, payload, trailer) after skipping `offset` bytes, with one
    /// gathered sendmsg. Returns the bytes written, or `.wouldBlock`.
    public static func send(_ socket: Descriptor, _ first: [UInt8], _ second: [UInt8], _ third: [UInt8],
                            offset: Int) throws(SystemError) -> IOResult<Int> {
        // Array.withUnsafeBytes rethrows untyped errors, so the result travels out as a Result.
        let result: Result<IOResult<Int>, SystemError> = first.withUnsafeBytes { a in
            second.withUnsafeBytes { b in
                third.withUnsafeBytes { c in
                    withUnsafeTemporaryAllocation(of: iovec.self, capacity: 3) { vectors in
                        var count = 0
                        var skip = offset
                        for part in [a, b, c] {
                            if skip >= part.count { skip -= part.count; continue }
                            vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: part.baseAddress! + skip),
                                                   iov_len: part.count - skip)
                            skip = 0
                            count += 1
                        }
                        if count == 0 { return .success(.done(0)) }
                        // sendmsg rather than writev for MSG_NOSIGNAL: a reset peer is an error, never SIGPIPE.
                        var message = msghdr()
                        message.msg_iov = vectors.baseAddress
                        message.msg_iovlen = count
                        let fd = socket.number
                        return Result { () throws(SystemError) in
                            try nonBlockingSyscall("sendmsg") { Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
                        }
                    }
                }
            }
        }
        return try result.get()
    }

    /// Writes what is left of `bytes` after `offset` with one send; returns the bytes written, or `.wouldBlock`.
    public static func send(_ socket: Descriptor, _ bytes: [UInt8], offset: Int = 0) throws(SystemError) -> IOResult<Int> {
        try send(socket, bytes, [], [], offset: offset)
    }

    /// Writes all of `bytes` on a blocking socket (clients: camctl, tests). A send timeout (SO_SNDTIMEO) that runs
    /// out is an EAGAIN error.
    public static func sendAll(_ socket: Descriptor, _ bytes: [UInt8]) throws(SystemError) {
        var sent = 0
        while sent < bytes.count {
            guard case .done(let count) = try send(socket, bytes, offset: sent) else { throw SystemError("sendmsg", errno: EAGAIN) }
            sent += count
        }
    }

    /// Tells the peer nothing more will be sent (shutdown SHUT_WR), so it can answer and close.
    public static func shutdownWrite(_ socket: Descriptor) throws(SystemError) {
        _ = try socket.withRawValue { (fd) throws(SystemError) in try syscall("shutdown") { Glibc.shutdown(fd, Int32(SHUT_WR)) } }
    }

    /// Writes all of `bytes` on a blocking socket, or reports `.wouldBlock` on a non-blocking one.
    public static func write(_ socket: Descriptor, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try socket.withRawValue { (fd) throws(SystemError) -> IOResult<Int> in
            try nonBlockingSyscall("write") { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Reads into `buffer`; `.done(0)` means the peer closed.
    public static func read(_ socket: Descriptor, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try socket.withRawValue { (fd) throws(SystemError) -> IOResult<Int> in
            try nonBlockingSyscall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        }
    }

    /// Reads into `buffer` (at most its count); `.done(0)` means the peer closed.
    public static func read(_ socket: Descriptor, into buffer: inout [UInt8]) throws(SystemError) -> IOResult<Int> {
        let result: Result<IOResult<Int>, SystemError> = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(SystemError) in try read(socket, into: raw) }
        }
        return try result.get()
    }

    public static func setNoDelay(_ socket: Descriptor) throws(SystemError) {
        try socket.withRawValue { (fd) throws(SystemError) in try setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)") }
    }

    /// Caps the unsent bytes the kernel keeps for this socket (TCP_NOTSENT_LOWAT).
    public static func setNotSentLowWatermark(_ socket: Descriptor, bytes: Int) throws(SystemError) {
        _ = try socket.withRawValue { (fd) throws(SystemError) in try syscall("setsockopt(TCP_NOTSENT_LOWAT)") { ccamd_set_notsent_lowat(fd, Int32(bytes)) } }
    }

    public static func setSendBuffer(_ socket: Descriptor, bytes: Int) throws(SystemError) {
        try socket.withRawValue { (fd) throws(SystemError) in try setOption(fd, SOL_SOCKET, SO_SNDBUF, Int32(bytes), "setsockopt(SO_SNDBUF)") }
    }

    public static func setReceiveBuffer(_ socket: Descriptor, bytes: Int) throws(SystemError) {
        try socket.withRawValue { (fd) throws(SystemError) in try setOption(fd, SOL_SOCKET, SO_RCVBUF, Int32(bytes), "setsockopt(SO_RCVBUF)") }
    }

    /// A receive timeout for blocking client sockets.
    public static func setReceiveTimeout(_ socket: Descriptor, seconds: Double) throws(SystemError) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        _ = try socket.withRawValue { (fd) throws(SystemError) in
            try syscall("setsockopt(SO_RCVTIMEO)") { setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) }
        }
    }

    /// The pending socket error (SO_ERROR), e.g. how a non-blocking connect failed; nil if there is none.
    public static func pendingError(_ socket: Descriptor) -> SystemError? {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        _ = socket.withRawValue { fd in getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) }
        return value == 0 ? nil : SystemError("SO_ERROR", errno: value)
    }

    /// Unsent bytes still queued in the kernel for this socket.
    public static func unsentBytes(_ socket: Descriptor) -> Int {
        Int(socket.withRawValue { fd in ccamd_unsent_bytes(fd) })
    }

    private static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ what: String) throws(SystemError) {
        var value = value
        _ = try syscall(what) { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }
}
