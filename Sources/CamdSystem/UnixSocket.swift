// UnixSocket: the control socket's plumbing — listening on a path with a mode and group, connecting,
// the peer's credentials (SO_PEERCRED, SO_PEERGROUPS), and listeners handed over by systemd.
#if canImport(Glibc)
import Glibc
#endif
internal import CCamdLinux

/// Who is at the other end of a Unix socket, as the kernel recorded it at connect time.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups (SO_PEERGROUPS); empty if the kernel does not report them.
    public var groups: [UInt32]

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32]) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }

    public func isMember(of group: UInt32) -> Bool { gid == group || groups.contains(group) }
}

public enum UnixSocket {
    /// sun_path holds 108 bytes including the terminating NUL.
    public static let maxPathBytes = 107

    /// Runs `body` with a sockaddr_un for `path`.
    private static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws(SystemError) -> R {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maxPathBytes else { throw SystemError("unix socket path \(path)", errno: ENAMETOOLONG) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Listens on `path` (non-blocking, close-on-exec) with file mode `mode` and, if given, group `gid`.
    /// A stale socket file (nobody accepting) is replaced; a live one is an EADDRINUSE error.
    public static func listen(path: String, mode: UInt32, gid: UInt32?) throws(SystemError) -> Descriptor {
        if isLive(path) { throw SystemError("bind \(path): another process is serving this socket", errno: EADDRINUSE) }
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
        let fd = try syscall("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        let socket = Descriptor(taking: fd)
        do throws(SystemError) {
            // Created with no access for anyone, then opened up to exactly `mode`: no window in which a
            // process outside the group could connect.
            let old = umask(0o777)
            let bound = try withAddress(path) { Glibc.bind(fd, $0, $1) }
            let bindErrno = errno
            umask(old)
            if bound != 0 { throw SystemError("bind \(path)", errno: bindErrno) }
            if let gid { _ = try syscall("chown \(path)") { chown(path, uid_t.max, gid) } }
            _ = try syscall("chmod \(path)") { chmod(path, mode_t(mode)) }
            _ = try syscall("listen \(path)") { Glibc.listen(fd, 64) }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Whether something accepts connections on `path` now.
    public static func isLive(_ path: String) -> Bool {
        guard let socket = try? connect(path: path) else { return false }
        socket.close()
        return true
    }

    /// A blocking, close-on-exec connection to `path`.
    public static func connect(path: String) throws(SystemError) -> Descriptor {
        let fd = try syscall("socket(AF_UNIX)") { Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let socket = Descriptor(taking: fd)
        let result = try withAddress(path) { Glibc.connect(fd, $0, $1) }
        if result != 0 {
            let error = SystemError("connect \(path)", errno: errno)
            socket.close()
            throw error
        }
        return socket
    }

    /// The connecting process's pid, uid, gid and supplementary groups.
    public static func peerCredentials(_ socket: Descriptor) -> PeerCredentials? {
        var pid: Int32 = 0, uid: UInt32 = 0, gid: UInt32 = 0
        guard ccamd_peer_credentials(socket.number, &pid, &uid, &gid) == 0 else { return nil }
        var groups = [UInt32](repeating: 0, count: 256)
        let count = max(0, Int(ccamd_peer_groups(socket.number, &groups, Int32(groups.count))))
        return PeerCredentials(pid: pid, uid: uid, gid: gid, groups: Array(groups.prefix(count)))
    }

    /// The gid of a group name, or nil if there is no such group.
    public static func groupID(named name: String) -> UInt32? {
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(name, &group, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return group.gr_gid
    }
}
