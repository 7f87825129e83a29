// PasswordHash: crypt(3) password hashes (libxcrypt), for http_auth.
internal import CCamdLinux

public enum PasswordHash {
    /// Whether `password` matches `hash` ("$6$…", "$y$…", "$2b$…"). Costs what the hash's method costs:
    /// about 2 ms for $6$ or $5$, about 17 ms for yescrypt ($y$) on a 2-core box.
    public static func matches(_ password: String, hash: String) -> Bool {
        ccamd_crypt_matches(password, hash) == 1
    }

    /// Whether libcrypt knows the method `hash` names.
    public static func isSupported(_ hash: String) -> Bool {
        ccamd_crypt_supported(hash) == 1
    }

    /// A new SHA-512 crypt hash ("$6$salt$…") of `password` with a random salt.
    public static func make(_ password: String) -> String? {
        var out = [CChar](repeating: 0, count: 256)
        guard ccamd_crypt_hash(password, &out, Int32(out.count)) == 0 else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
