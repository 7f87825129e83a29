// DeviceDiagnosis: turns a camera's errno into facts an operator can act on — who holds a busy camera
// (from /proc), why a node refuses camd (its owner, group and mode against camd's uid and groups) — and
// routes libv4l2's own diagnostics into camd's logger instead of raw stderr.
#if canImport(Glibc)
import Glibc
#endif
internal import CCamdLinux
internal import CV4L2
import CamdSystem
import Logging
import Locking

enum DeviceDiagnosis {
    // MARK: Busy

    /// Processes that have `path` (or the node it links to) open, as "ffmpeg (pid 812)", and camd's own
    /// descriptors on it other than `ownFD`. Processes whose descriptors camd may not read are not listed.
    static func holders(of path: String, ownFD: Int32?) -> (others: [String], ownExtra: [Int32]) {
        guard let target = realPath(path) else { return ([], []) }
        let me = getpid()
        var others: [String] = []
        var ownExtra: [Int32] = []
        // Bounded: a box has hundreds of processes, not tens of thousands.
        for pid in ((try? Files.list("/proc")) ?? []).lazy.compactMap({ Int32($0) }).prefix(32768) {
            for fdName in (try? Files.list("/proc/\(pid)/fd")) ?? [] {
                guard let fd = Int32(fdName), readLink("/proc/\(pid)/fd/\(fdName)") == target else { continue }
                if pid == me {
                    if fd != ownFD { ownExtra.append(fd) }
                } else {
                    others.append("\(command(of: pid)) (pid \(pid))")
                    break
                }
            }
        }
        return (others, ownExtra)
    }

    /// The words for EBUSY: who holds the camera, as far as /proc tells.
    static func busyMessage(path: String, ownFD: Int32?) -> String {
        let (others, ownExtra) = holders(of: path, ownFD: ownFD)
        if !others.isEmpty {
            return "the camera is in use by \(others.prefix(4).joined(separator: ", "))"
        }
        if !ownExtra.isEmpty {
            return "camd itself still holds \(path) on descriptor \(ownExtra.map(String.init).joined(separator: ", ")) (a camd bug: please report it)"
        }
        return "the camera is in use by another program (camd cannot see which; `fuser -v \(path)` as root names it)"
    }

    // MARK: Permission

    /// The words for EACCES/EPERM, from the node's owner, group and mode and camd's own uid and groups.
    static func permissionMessage(path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "permission denied" }
        let mode = info.st_mode & 0o777
        let uid = geteuid()
        var groups = [gid_t](repeating: 0, count: 256)
        let count = Int(getgroups(Int32(groups.count), &groups))
        let myGroups = Set([getegid()] + groups.prefix(max(0, count)))
        let node = "\(path) is \(userName(info.st_uid)):\(groupName(info.st_gid)) \(octal(mode))"
        let me = "camd runs as \(userName(uid)) (groups \(myGroups.sorted().map(groupName).joined(separator: ", ")))"
        let rw: mode_t = 0o6
        let allowed = uid == 0
            || (info.st_uid == uid && (mode >> 6) & rw == rw)
            || (myGroups.contains(info.st_gid) && (mode >> 3) & rw == rw)
            || mode & rw == rw
        if allowed {
            return "permission denied although \(node) and \(me): something else refuses it "
                + "(systemd DevicePolicy=/DeviceAllow=, an ACL or a security module)"
        }
        if info.st_gid != 0 && (mode >> 3) & rw == rw {
            return "permission denied: \(node) and \(me): add camd's user to the '\(groupName(info.st_gid))' group"
        }
        return "permission denied: \(node) and \(me): no group may use it; a udev rule should make it "
            + "root:video 0660 (Debian's default for video4linux), or give camd's user access"
    }

    // MARK: libv4l2's messages

    private static let v4l2Logger = LockedValue<Logger?>(nil)

    /// From now on, libv4l2's own error lines ("libv4l2: error setting pixformat: …") go to `logger` at debug
    /// level, escaped, instead of stderr: camd reports the same failure in its own words.
    static func routeLibV4L2Messages(to logger: Logger) {
        let first = v4l2Logger.withLock { current -> Bool in
            defer { current = logger }
            return current == nil
        }
        guard first, let stream = ccamd_line_stream({ line, length in
            guard let line else { return }
            let bytes = UnsafeRawBufferPointer(start: line, count: Int(length))
            let text = String(decoding: bytes, as: UTF8.self)
            DeviceDiagnosis.v4l2Logger.withLock { $0 }?.debug("\(LogText.escaped(text))")
        }) else { return }
        cv4l2_set_log_file(stream)
    }

    // MARK: Small helpers

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func command(of pid: Int32) -> String {
        guard let bytes = try? Files.read("/proc/\(pid)/comm") else { return "pid \(pid)" }
        let name = String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self)
        return name.isEmpty ? "?" : LogText.escaped(name)
    }

    private static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "\(uid)" }
        return String(cString: name)
    }

    private static func groupName(_ gid: gid_t) -> String {
        guard let entry = getgrgid(gid), let name = entry.pointee.gr_name else { return "\(gid)" }
        return String(cString: name)
    }

    private static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }
}
