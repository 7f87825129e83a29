// GatheredSend: sending many byte chunks with one sendmsg — over TCP (an RTSP viewer's interleaved RTP: a 16-byte
// header of its own in front of each shared payload) and as UDP datagrams — and the UDP sockets RTP uses. All the
// unsafe pointer handling for gathered sends lives in this file.
#if canImport(Glibc)
import Glibc
#endif
internal import CCamdLinux

extension Socket {
    /// At most this many chunks go into one sendmsg (IOV_MAX is 1024; a short call is cheaper to retry).
    public static let maxGatheredChunks = 64

    /// Writes the first `maxGatheredChunks` of `chunks`, skipping `offset` bytes of them, with one sendmsg (no SIGPIPE).
    /// Returns the bytes written, or `.wouldBlock`.
    public static func send(_ socket: Descriptor, chunks: [ArraySlice<UInt8>], offset: Int) throws(SystemError) -> IOResult<Int> {
        try gathered(chunks, offset: offset) { (message) throws(SystemError) -> IOResult<Int> in
            try socket.withRawValue { (fd) throws(SystemError) -> IOResult<Int> in
                try nonBlockingSyscall("sendmsg") { Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
            }
        }
    }

    /// Sends `chunks` as one UDP datagram to `address`. A full socket buffer is `.wouldBlock` (the datagram is
    /// dropped by the caller: UDP viewers never push back).
    public static func sendDatagram(_ socket: Descriptor, chunks: [ArraySlice<UInt8>], to address: SocketAddress) throws(SystemError) -> IOResult<Int> {
        try address.withSockaddr { (sa, length) throws(SystemError) -> IOResult<Int> in
            try gathered(chunks, offset: 0) { (message) throws(SystemError) -> IOResult<Int> in
                message.msg_name = UnsafeMutableRawPointer(mutating: sa)
                message.msg_namelen = length
                return try socket.withRawValue { (fd) throws(SystemError) -> IOResult<Int> in
                    try nonBlockingSyscall("sendmsg") { Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
                }
            }
        }
    }

    /// A non-blocking UDP socket bound to `address` (port 0: the kernel picks one).
    public static func bindDatagram(on address: SocketAddress) throws(SystemError) -> Descriptor {
        let fd = try syscall("socket") {
            Glibc.socket(address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        let socket = Descriptor(taking: fd)
        do {
            if case .v6 = address {
                var one: Int32 = 1
                _ = try syscall("setsockopt(IPV6_V6ONLY)") { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
            }
            _ = try address.withSockaddr { (sa, len) throws(SystemError) in
                try syscall("bind udp \(address)") { Glibc.bind(fd, sa, len) }
            }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Receives one datagram into `buffer` (truncated to its size); returns its length and sender.
    public static func receiveDatagram(_ socket: Descriptor, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<(Int, SocketAddress?)> {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { (p) throws(SystemError) -> IOResult<Int> in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sp) throws(SystemError) -> IOResult<Int> in
                try socket.withRawValue { (fd) throws(SystemError) -> IOResult<Int> in
                    try nonBlockingSyscall("recvfrom") { Glibc.recvfrom(fd, buffer.baseAddress, buffer.count, 0, sp, &len) }
                }
            }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .done(let count): return .done((count, SocketAddress(storage: storage)))
        }
    }

    /// Lends `body` a msghdr whose iovecs point into the chunks (at most `maxGatheredChunks`, `offset` bytes skipped).
    /// Each chunk's pointer is valid only inside its `withUnsafeBytes`, so the chunks are opened one inside the other
    /// and the call is made innermost.
    private static func gathered(_ chunks: [ArraySlice<UInt8>], offset: Int,
                                    _ body: (inout msghdr) throws(SystemError) -> IOResult<Int>) throws(SystemError) -> IOResult<Int> {
        let count = min(chunks.count, maxGatheredChunks)
        let result: Result<IOResult<Int>, SystemError> = withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(count, 1)) { vectors in
            func open(_ index: Int, used: Int, skip: Int) -> Result<IOResult<Int>, SystemError> {
                guard index < count else {
                    if used == 0 { return .success(.done(0)) }
                    var message = msghdr()
                    message.msg_iov = vectors.baseAddress
                    message.msg_iovlen = used
                    return Result { () throws(SystemError) in try body(&message) }
                }
                return chunks[index].withUnsafeBytes { raw in
                    guard skip < raw.count, let base = raw.baseAddress else {
                        return open(index + 1, used: used, skip: max(0, skip - raw.count))
                    }
                    vectors[used] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base + skip), iov_len: raw.count - skip)
                    return open(index + 1, used: used + 1, skip: 0)
                }
            }
            return open(0, used: 0, skip: offset)
        }
        return try result.get()
    }
}
