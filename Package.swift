// swift-tools-version:6.0
// camd — a camera-streaming daemon: one capture thread, a ring of shared frames,
// and an epoll reactor that fans the latest frame out to many viewers.
import PackageDescription
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

// CAMD_H264=0 builds camd without H.264 encoding: no libavcodec, and so not Debian's GPL-2.0-or-later libx264
// (README, "Licence"). It leaves out CAVCodec, H264Encoding, h264bench and H264EncodingTests; Service and camd get
// the define CAMD_NO_H264: guard code that uses the encoder with `#if !CAMD_NO_H264`, not `#if canImport(H264Encoding)`,
// which stays true in a build folder that once built H264Encoding (its module file is still there; the link then
// fails). RTSP and the pure H264 target (no C imports) stay.
let h264 = getenv("CAMD_H264").map { String(cString: $0) } != "0"
let encoding: [Target.Dependency] = h264 ? ["H264Encoding"] : []
let noH264: [SwiftSetting] = h264 ? [] : [.define("CAMD_NO_H264")]

let package = Package(
    name: "camd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "camd", targets: ["camd"]),
        .executable(name: "camview", targets: ["camview"]),
        .executable(name: "camctl", targets: ["camctl"]),
        .executable(name: "camload", targets: ["camload"]),
        // Tests only: a fake UVC camera at the libv4l2 level, LD_PRELOADed into the real camd.
        .library(name: "FakeV4L2", type: .dynamic, targets: ["FakeV4L2"]),
        // Tests only: the fuzz targets' checks and libFuzzer entry points (fuzz/), built with -sanitize=fuzzer,address
        // by scripts/fuzz.sh and linked into one executable per target there.
        .library(name: "CamdFuzz", type: .dynamic, targets: ["CamdFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // System libraries (Debian: libturbojpeg0-dev, libsystemd-dev, libv4l-dev, libsdl2-dev).
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CV4L2", pkgConfig: "libv4l2", providers: [.apt(["libv4l-dev"])]),
        // camview's window only (Debian: libsdl2-dev).
        .systemLibrary(name: "CSDL2", providers: [.apt(["libsdl2-dev"])]),
        // The H.264 encoder only (Debian: libavcodec-dev, libavutil-dev; Debian's libavcodec links libx264, GPL).
        .systemLibrary(name: "CAVCodec", pkgConfig: "libavcodec", providers: [.apt(["libavcodec-dev", "libavutil-dev"])]),
        // Linux syscalls Glibc does not expose to Swift (epoll, eventfd, timerfd, signalfd, accept4), and crypt(3).
        .target(name: "CCamdLinux", cSettings: [.define("_GNU_SOURCE")], linkerSettings: [.linkedLibrary("crypt")]),

        // fd ownership, errno, syscall retry, sockets.
        .target(name: "CamdSystem", dependencies: ["CCamdLinux"], swiftSettings: strict),
        // The epoll loop: knows file descriptors, not cameras or protocols.
        .target(name: "Reactor", dependencies: ["CamdSystem", "CCamdLinux"], swiftSettings: strict),
        // LockedValue: a value behind a pthread mutex (a lock ThreadSanitizer sees; see the file). No dependencies.
        .target(name: "Locking", swiftSettings: strict),
        // Frame and FrameRing: no C imports; only the lock of the ring.
        .target(name: "Frames", dependencies: ["Locking"], swiftSettings: strict),
        // A strict, bounded TOML 1.0 parser in pure Swift (no dependencies): throws on any input, never traps.
        .target(name: "TOML", swiftSettings: strict),
        // Raw camera pixel formats (YUYV, NV12, RGB24, Bayer…) → planar YUV in one pass, turned while written. C for
        // speed; -O2 even in debug builds, where an unoptimised per-pixel loop would cost a 720p frame tens of ms.
        .target(name: "CPixels", cSettings: [.unsafeFlags(["-O2"])]),
        // JPEG encode/decode (libturbojpeg), raw-frame conversion (CPixels) and JPEG marker scanning.
        .target(name: "JPEG", dependencies: ["CTurboJPEG", "CPixels"], swiftSettings: strict),
        // H.264 bytes without a codec: Annex-B splitting, NAL types, SPS/PPS for SDP, the shared access unit and the
        // keyframe policy. No codec, so RTSP and camera pass-through need no libavcodec.
        .target(name: "H264", dependencies: ["Locking", "CamdSystem"], swiftSettings: strict),
        // The H.264 encoder through libavcodec (hardware when it opens, else libx264) and PlanarImage → 4:2:0.
        // A separate target so a build without libavcodec (and so without GPL libx264) leaves out only this.
        // Also the decoder for cameras that send H.264 (Capture's H264PictureDecoder).
        .target(name: "H264Encoding", dependencies: ["H264", "CAVCodec", "JPEG", "CamdSystem", "Locking", "Frames", "Capture",
                                                     .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // Frame sources, pacing and the capture thread.
        .target(name: "Capture", dependencies: ["Frames", "Locking", "CamdSystem", "CCamdLinux", "JPEG", "CV4L2",
                                                .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // The bytes on the wire, for servers and clients alike: the native frame header and stream parser, the
        // multipart stream parser, the HTTP request parser and camd's HTTP messages. No reactor, no logging.
        .target(name: "Wire", dependencies: ["Frames", "CamdSystem"], swiftSettings: strict),
        // The streaming server: listeners, one ConnectionMachine per connection, and the fan-out of the latest frame.
        .target(name: "Streaming", dependencies: ["Frames", "Wire", "Reactor", "CamdSystem", "RTSP", "H264",
                                                  .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // RTSP 1.0 (RFC 2326) and RTP/RTCP, sans-IO: the request parser, one RTSPConnectionMachine per connection,
        // the SDP, and the H.264 (RFC 6184) and JPEG (RFC 2435) packetisers. Bytes and clock values in, actions out.
        .target(name: "RTSP", dependencies: ["CamdSystem", "JPEG", "H264"], swiftSettings: strict),
        // The operator's control socket: commands, peer checks, one JSON line per reply.
        .target(name: "Control", dependencies: ["Wire", "Reactor", "CamdSystem", .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // camview's engine: stream URLs, the reader thread (native and HTTP multipart), the latest-wins mailbox,
        // recording, and the pixels-to-terminal-cells renderer. No display code: that is the executable's.
        .target(name: "Viewer", dependencies: ["CamdSystem", "Locking", "JPEG", "Wire"], swiftSettings: strict),
        // Every setting camd has: Config, its checks, the config file loader. Plain values only (no capture,
        // streaming or server code), so camctl can read the settings without linking the daemon.
        .target(name: "Settings", dependencies: ["CamdSystem", "TOML"], swiftSettings: strict),
        // Network sources: another camd (camd://), HTTP MJPEG streams and still-image URLs as frame sources.
        .target(name: "Upstream", dependencies: ["Capture", "Wire", "Settings", "JPEG", "CamdSystem",
                                                 .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // Logging, systemd and the wiring of the daemon: applies Settings to capture, streaming and control.
        .target(name: "Service", dependencies: ["Frames", "Capture", "Streaming", "Control", "Reactor", "CamdSystem", "CSystemd", "H264", "RTSP",
                                                "Settings", "Upstream", .product(name: "Logging", package: "swift-log")] + encoding,
                swiftSettings: strict + noH264),

        .executableTarget(name: "camd", dependencies: ["Service", "Settings", "Capture", "CamdSystem",
                                                       .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                                       .product(name: "Logging", package: "swift-log")],
                          swiftSettings: strict + noH264),
        .executableTarget(name: "camview", dependencies: ["Viewer", "CamdSystem", "JPEG", "CSDL2",
                                                          .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: strict),
        .executableTarget(name: "camctl", dependencies: ["Wire", "Settings", "CamdSystem",
                                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: strict),
        // The benchmark's load generator (see bench/README and docs/BENCHMARKS.md).
        .executableTarget(name: "camload", dependencies: ["Wire", "Reactor", "CamdSystem",
                                                          .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "bench/camload", swiftSettings: strict),
        // Prints camd.toml(5) from the key table and config/camd.toml's comments (scripts/man.sh; not installed).
        .executableTarget(name: "configmanual", dependencies: ["Settings", "CamdSystem"], path: "packaging/configmanual", swiftSettings: strict),
        // The capture path's cost per frame (YUYV encode, MJPEG passthrough), compared with tjbench.
        .executableTarget(name: "capbench", dependencies: ["JPEG", "CamdSystem"], path: "bench/capbench", swiftSettings: strict),
        // camd's H.264 encoder over raw frames, compared with ffmpeg's libx264 by bench/h264-encode.sh.
        .executableTarget(name: "h264bench", dependencies: ["H264Encoding", "H264", "JPEG", "CamdSystem",
                                                            .product(name: "Logging", package: "swift-log")],
                          path: "bench/h264bench", swiftSettings: strict),

        // Tests: one target per library, shared support, and an integration target that runs the built camd.
        .target(name: "TestSupport", dependencies: ["CamdSystem", "Locking", "Wire"], path: "Tests/TestSupport",
                swiftSettings: strict),
        // Never sanitized: under scripts/sanitize.sh it is LD_PRELOADed into the sanitized camd and so inherited by the
        // sanitizer's llvm-symbolizer, an ordinary program that cannot load a library calling into a sanitizer runtime.
        .target(name: "FakeV4L2", path: "Tests/FakeV4L2",
                cSettings: [.define("_GNU_SOURCE"), .unsafeFlags(["-fno-sanitize=all"])]),
        .target(name: "CamdFuzz", dependencies: ["Settings", "TOML", "Wire", "JPEG", "Streaming", "Frames", "CamdSystem", "RTSP", "H264"],
                path: "fuzz", exclude: ["corpus", "driver.c"], swiftSettings: strict),
        .testTarget(name: "CamdSystemTests", dependencies: ["CamdSystem"], swiftSettings: strict),
        .testTarget(name: "LockingTests", dependencies: ["Locking"], swiftSettings: strict),
        .testTarget(name: "FramesTests", dependencies: ["Frames"], swiftSettings: strict),
        // Replays every committed fuzz corpus through its target's checks (fuzz/corpus/TARGET).
        .testTarget(name: "FuzzTests", dependencies: ["CamdFuzz"], swiftSettings: strict),
        .testTarget(name: "TOMLTests", dependencies: ["TOML"], swiftSettings: strict),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "CamdSystem"], swiftSettings: strict),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "JPEG", "CamdSystem", "Locking", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "JPEGTests", dependencies: ["JPEG"], swiftSettings: strict),
        .testTarget(name: "H264Tests", dependencies: ["H264"], swiftSettings: strict),
        .testTarget(name: "H264EncodingTests", dependencies: ["H264Encoding", "H264", "JPEG", "Frames", "Capture", "CamdSystem",
                                                             .product(name: "Logging", package: "swift-log")],
                    swiftSettings: strict),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Frames"], swiftSettings: strict),
        .testTarget(name: "StreamingTests", dependencies: ["Streaming", "Wire", "Frames", "CamdSystem"], swiftSettings: strict),
        .testTarget(name: "RTSPTests", dependencies: ["RTSP", "JPEG", "H264"], swiftSettings: strict),
        // Tests only: serves an H.264 file over RTSPConnectionMachine on loopback for real clients (tests/rtsp/).
        .executableTarget(name: "rtsp-harness", dependencies: ["RTSP", "CamdSystem", "JPEG", "H264"], path: "Tests/RTSPHarness", swiftSettings: strict),
        .testTarget(name: "ControlTests", dependencies: ["Control", "Wire", "CamdSystem"], swiftSettings: strict),
        .testTarget(name: "ViewerTests", dependencies: ["Viewer", "CamdSystem", "Locking"], swiftSettings: strict),
        .testTarget(name: "SettingsTests", dependencies: ["Settings", "CamdSystem"], swiftSettings: strict),
        .testTarget(name: "ServiceTests", dependencies: ["Service", "Settings", "Capture", "Streaming", "camd",
                                                       .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport", "Locking", "Wire", "Capture", "CamdSystem", "JPEG",
                                                             "camd", "camview", "camctl"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)

// Without H.264 encoding (CAMD_H264=0): the targets that need libavcodec go.
if !h264 {
    let encoderOnly: Set<String> = ["CAVCodec", "H264Encoding", "h264bench", "H264EncodingTests"]
    package.targets.removeAll { encoderOnly.contains($0.name) }
}
