// The native protocol v1: a 32-byte big-endian header before each JPEG (see docs/PROTOCOL.md).
import Frames

public struct NativeProtocolError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct NativeFrameHeader: Equatable, Sendable {
    public static let size = 32
    public static let magic: [UInt8] = Array("CAMF".utf8)
    public static let version: UInt8 = 1
    /// Flag bit 0: the frame is a placeholder (no signal from the camera).
    public static let placeholderFlag: UInt16 = 1
    /// The largest payload a reader accepts (a sanity bound, far above any real JPEG).
    public static let maxPayload = 64 << 20

    public var format: UInt8
    public var flags: UInt16
    public var sequence: UInt64
    public var timestampNanos: UInt64
    public var width: UInt16
    public var height: UInt16
    public var length: UInt32

    public init(format: UInt8 = FrameFormat.jpeg.rawValue, flags: UInt16 = 0, sequence: UInt64, timestampNanos: UInt64,
                width: UInt16, height: UInt16, length: UInt32) {
        self.format = format
        self.flags = flags
        self.sequence = sequence
        self.timestampNanos = timestampNanos
        self.width = width
        self.height = height
        self.length = length
    }

    public init(frame: Frame) {
        self.init(format: frame.format.rawValue, flags: frame.isPlaceholder ? Self.placeholderFlag : 0,
                  sequence: frame.sequence, timestampNanos: frame.timestampNanos,
                  width: UInt16(clamping: frame.width), height: UInt16(clamping: frame.height),
                  length: UInt32(frame.payload.count))
    }

    public var isPlaceholder: Bool { flags & Self.placeholderFlag != 0 }

    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.size)
        bytes.append(Self.version)
        bytes.append(format)
        append(flags, to: &bytes)
        append(sequence, to: &bytes)
        append(timestampNanos, to: &bytes)
        append(width, to: &bytes)
        append(height, to: &bytes)
        append(length, to: &bytes)
        return bytes
    }

    /// Decodes and validates a header: magic, version, known format, length within bounds.
    public init<C: Collection<UInt8>>(decoding bytes: C) throws(NativeProtocolError) where C.Index == Int {
        guard bytes.count >= Self.size else { throw NativeProtocolError("short header: \(bytes.count) bytes") }
        let b = bytes.startIndex
        guard Array(bytes[b..<b + 4]) == Self.magic else {
            throw NativeProtocolError("bad magic \(Array(bytes[b..<b + 4])): not a camd native stream")
        }
        guard bytes[b + 4] == Self.version else { throw NativeProtocolError("unsupported protocol version \(bytes[b + 4])") }
        func read<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
            var value: T = 0
            for i in 0..<MemoryLayout<T>.size { value = value << 8 | T(bytes[b + offset + i]) }
            return value
        }
        format = bytes[b + 5]
        guard format == FrameFormat.jpeg.rawValue else { throw NativeProtocolError("unknown frame format \(format)") }
        flags = read(6, as: UInt16.self)
        sequence = read(8, as: UInt64.self)
        timestampNanos = read(16, as: UInt64.self)
        width = read(24, as: UInt16.self)
        height = read(26, as: UInt16.self)
        length = read(28, as: UInt32.self)
        guard Int(length) <= Self.maxPayload else { throw NativeProtocolError("frame length \(length) exceeds \(Self.maxPayload)") }
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        for i in (0..<MemoryLayout<T>.size).reversed() { bytes.append(UInt8(truncatingIfNeeded: value >> (i * 8))) }
    }
}

/// Splits a native byte stream into frames, incrementally (sans-IO: feed it whatever recv returned).
/// With `keepPayload == false` it only counts payload bytes, so a load generator does no copying.
public struct NativeStreamParser {
    private enum State {
        case header
        case payload(NativeFrameHeader, remaining: Int)
    }

    private var state = State.header
    private var headerBytes: [UInt8] = []
    private var payload: [UInt8] = []
    public let keepPayload: Bool

    public init(keepPayload: Bool = true) {
        self.keepPayload = keepPayload
        headerBytes.reserveCapacity(NativeFrameHeader.size)
    }

    /// Consumes `bytes`; calls `onFrame` for each complete frame (payload nil when not kept).
    public mutating func consume(_ bytes: UnsafeRawBufferPointer,
                                 _ onFrame: (NativeFrameHeader, [UInt8]?) -> Void) throws(NativeProtocolError) {
        var index = 0
        while index < bytes.count {
            switch state {
            case .header:
                let take = min(NativeFrameHeader.size - headerBytes.count, bytes.count - index)
                headerBytes.append(contentsOf: bytes[index..<index + take])
                index += take
                if headerBytes.count == NativeFrameHeader.size {
                    let header = try NativeFrameHeader(decoding: headerBytes)
                    headerBytes.removeAll(keepingCapacity: true)
                    // Memory follows the bytes that arrive, not the length a server claims (up to maxPayload).
                    if keepPayload { payload = []; payload.reserveCapacity(min(Int(header.length), 1 << 20)) }
                    if header.length == 0 {
                        onFrame(header, keepPayload ? [] : nil)
                    } else {
                        state = .payload(header, remaining: Int(header.length))
                    }
                }
            case .payload(let header, let remaining):
                let take = min(remaining, bytes.count - index)
                if keepPayload { payload.append(contentsOf: bytes[index..<index + take]) }
                index += take
                if take == remaining {
                    state = .header
                    onFrame(header, keepPayload ? payload : nil)
                    if keepPayload { payload = [] }
                } else {
                    state = .payload(header, remaining: remaining - take)
                }
            }
        }
    }

    /// True between frames (a clean place for a stream to end).
    public var isAtFrameBoundary: Bool {
        if case .header = state { return headerBytes.isEmpty }
        return false
    }
}
