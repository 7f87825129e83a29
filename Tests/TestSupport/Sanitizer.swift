// Sanitizer: which sanitizer the tests run under, so the few tests a sanitizer's slowdown breaks can step aside.
import Foundation

public enum Sanitizer {
    /// "thread" or "address" when scripts/sanitize.sh runs the suite (it sets CAMD_SANITIZER), else nil.
    public static let active: String? = ProcessInfo.processInfo.environment["CAMD_SANITIZER"]

    /// True under any sanitizer. Use it only in `.disabled(if: Sanitizer.running, "why")` on a test whose assertion
    /// is about speed (frame rates, latency) that a 2–15× slower build cannot meet; list the test and its reason in
    /// docs/RELIABILITY.md (Sanitizers). Never to loosen an assertion.
    public static var running: Bool { active != nil }

    /// The sanitizer runtime's settings of this process (where reports go, suppressions), for a child started with an
    /// environment of its own: without them a sanitized camview would report to its stderr, where no one looks.
    public static var environment: [String: String] {
        ProcessInfo.processInfo.environment.filter {
            ["ASAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS", "CAMD_SANITIZER", "DBUS_SESSION_BUS_ADDRESS"].contains($0.key) && active != nil
        }
    }
}
