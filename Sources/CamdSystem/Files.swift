// Files: the few file operations the sources need (list a directory, read a file or a slice, map a file).
#if canImport(Glibc)
import Glibc
#endif

public enum Files {
    /// Writes all of `bytes` to `fd`: retries EINTR, and waits (poll) while a non-blocking `fd` is full.
    /// Throws the error that stopped it. Never traps: `fd` may be a stream camd did not open (stdout, a closed
    /// terminal).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n >= 0 {
                written += n
                continue
            }
            let err = errno
            if err == EINTR { continue }
            guard err == EAGAIN || err == EWOULDBLOCK else { throw SystemError("write", errno: err) }
            _ = try? Poll.wait(fd, for: .writable, timeoutMilliseconds: 1000)
        }
    }

    /// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so a reader never sees
    /// half a file. Nil on success, else the reason.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) -> String? {
        let temporary = path + ".tmp-\(getpid())"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "cannot write \(path): \(SystemError("open", errno: errno).message)" }
        var failure: SystemError?
        do { try writeAll(fd, bytes) } catch { failure = error }
        _ = Glibc.close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = SystemError("rename", errno: errno) }
        if let failure {
            unlink(temporary)
            return "cannot write \(path): \(failure.message)"
        }
        return nil
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// What is at `path` ("a regular file", "a directory", "a character device", …), nil if nothing is.
    public static func kind(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        default: return "not a device"
        }
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Names (not paths) of the entries in `directory`, sorted, without "." and "..".
    public static func list(_ directory: String) throws(SystemError) -> [String] {
        guard let dir = opendir(directory) else { throw SystemError("opendir \(directory)", errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Reads a whole file (a pseudo-file up to 64 KiB).
    public static func read(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = Descriptor(taking: try syscall("open \(path)") { Glibc.open(path, O_RDONLY | O_CLOEXEC) })
        defer { fd.close() }
        var st = stat()
        _ = try syscall("fstat \(path)") { fstat(fd.number, &st) }
        // Pseudo-files (/proc, /sys) report size 0: read what they have, up to 64 KiB.
        return try read(fd, offset: 0, count: st.st_size > 0 ? Int(st.st_size) : 65536, path: path)
    }

    public static func open(_ path: String) throws(SystemError) -> Descriptor {
        Descriptor(taking: try syscall("open \(path)") { Glibc.open(path, O_RDONLY | O_CLOEXEC) })
    }

    /// Reads exactly `count` bytes at `offset` (fewer only at end of file).
    public static func read(_ fd: Descriptor, offset: Int, count: Int, path: String) throws(SystemError) -> [UInt8] {
        var result: SystemError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = pread(fd.number, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    result = SystemError("pread \(path)", errno: errno)
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if let result { throw result }
        return bytes
    }

    /// Maps `path` read-only for the duration of `body`.
    public static func withMapped<R>(_ path: String, _ body: (UnsafeRawBufferPointer) -> R) throws(SystemError) -> R {
        let fd = try open(path)
        defer { fd.close() }
        var st = stat()
        _ = try syscall("fstat \(path)") { fstat(fd.number, &st) }
        let size = Int(st.st_size)
        if size == 0 { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd.number, 0), base != MAP_FAILED else {
            throw SystemError("mmap \(path)", errno: errno)
        }
        defer { munmap(base, size) }
        return body(UnsafeRawBufferPointer(start: base, count: size))
    }
}
