// UpstreamConnection: one non-blocking TCP connection to an upstream — connect, send the request, read — where
// every step waits at most the time the caller grants (poll), so the capture thread stays prompt to stop.
import CamdSystem

#if canImport(Glibc)
import Glibc
#endif

final class UpstreamConnection {
    enum Progress {
        /// This many bytes were read into the buffer.
        case read(Int)
        /// The upstream closed the connection (end of stream).
        case closed
        /// Nothing to read within the time granted (or still connecting / sending).
        case nothing
    }

    let address: SocketAddress
    private let socket: Descriptor
    private var connected = false
    private var request: [UInt8]
    private var sent = 0

    /// Starts connecting to `address`; `request` (may be empty) is sent once connected.
    init(to address: SocketAddress, request: [UInt8]) throws(SourceFailure) {
        self.address = address
        self.request = request
        do {
            socket = try Socket.connectNonBlocking(to: address)
        } catch {
            throw SourceFailure("connect to \(address): \(error.message)", reason: "connect")
        }
    }

    deinit { if socket.isOpen { socket.close() } }

    func close() { if socket.isOpen { socket.close() } }

    var isConnected: Bool { connected }

    /// Waits up to `milliseconds` for the connection to make progress, and makes it.
    func service(into buffer: inout [UInt8], milliseconds: Int32) throws(SourceFailure) -> Progress {
        let wants: PollEvents = !connected || sent < request.count ? .writable : .readable
        let ready: PollEvents?
        do {
            ready = try Poll.wait(socket.number, for: wants, timeoutMilliseconds: max(0, milliseconds))
        } catch {
            throw SourceFailure("poll: \(error.message)", reason: "io")
        }
        guard let ready else { return .nothing }
        if !connected {
            if let failure = Socket.pendingError(socket) {
                throw SourceFailure("connect to \(address): \(failure.message)", reason: failure.errno == ECONNREFUSED ? "refused" : "connect")
            }
            guard ready.contains(.writable) else {
                throw SourceFailure("connect to \(address): the connection failed", reason: "connect")
            }
            connected = true
            try? Socket.setNoDelay(socket)
        }
        if sent < request.count {
            do {
                if case .done(let count) = try Socket.send(socket, request, offset: sent) { sent += count }
            } catch {
                throw SourceFailure("sending the request to \(address): \(error.message)", reason: "io")
            }
            if sent == request.count { request = [] ; sent = 0 }
            return .nothing
        }
        do {
            switch try Socket.read(socket, into: &buffer) {
            case .wouldBlock: return .nothing
            case .done(0): return .closed
            case .done(let count): return .read(count)
            }
        } catch {
            throw SourceFailure("reading from \(address): \(error.message)", reason: error.errno == ECONNRESET ? "reset" : "io")
        }
    }
}

/// Why a network source lost its upstream: a sentence for logs, /state and the NO SIGNAL picture, and a stable
/// word (refused, connect, timeout, http, protocol, closed…) for the journal's CAMD_REASON.
struct SourceFailure: Error, CustomStringConvertible {
    let description: String
    let reason: String
    init(_ description: String, reason: String) {
        self.description = description
        self.reason = reason
    }
}
