// ConfigFuzz: the whole path a config file's bytes take in camd — UTF-8 check, TOML parser, every key's own check
// in Config.set (addresses, paths, groups, crypt hashes, controls) — so a crash anywhere in it is found.
import Settings

enum ConfigFuzz {
    /// Either a configuration or one line of error without control characters (camd logs it; camctl prints it).
    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        do {
            _ = try ConfigLoader.parse(bytes: bytes, origin: "fuzz.toml", overrides: [])
        } catch {
            try require(!hasControlCharacter(error.description), "config-error-control-character", error.description.debugDescription)
        }
    }
}
