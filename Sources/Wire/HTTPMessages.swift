// HTTPMessages: the bytes camd's HTTP responses are made of — heads, the multipart stream's head and parts.
import Frames

public enum HTTPMessages {
    public static let boundary = "camdframe"
    public static let crlf: [UInt8] = [0x0D, 0x0A]
    public static let noStore = "Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\nPragma: no-cache\r\nExpires: 0\r\n"

    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 431: return "Request Header Fields Too Large"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Error"
        }
    }

    public static func head(_ status: Int, contentType: String, length: Int?, keepAlive: Bool, extra: String = "") -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reason(status))\r\nServer: camd\r\nContent-Type: \(contentType)\r\n"
        if let length { text += "Content-Length: \(length)\r\n" }
        text += noStore + extra
        text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    /// "1764000000.123456", as ustreamer sends X-Timestamp.
    public static func timestamp(_ nanos: UInt64) -> String {
        let micros = String(nanos / 1000 % 1_000_000)
        return "\(nanos / 1_000_000_000)." + String(repeating: "0", count: 6 - micros.count) + micros
    }

    public static func frameHeaders(_ frame: Frame) -> String {
        "X-Timestamp: \(timestamp(frame.timestampNanos))\r\nX-Sequence: \(frame.sequence)\r\n"
            + (frame.isPlaceholder ? "X-Placeholder: 1\r\n" : "")
    }

    /// One multipart part's header; the payload and a CRLF follow.
    public static func partHeader(_ frame: Frame) -> [UInt8] {
        Array(("--\(boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(frame.payload.count)\r\n"
            + frameHeaders(frame) + "\r\n").utf8)
    }

    /// The multipart stream's head; `extra` header lines (CORS) go before Connection.
    public static func streamHead(extra: String = "") -> [UInt8] {
        Array(("HTTP/1.1 200 OK\r\nServer: camd\r\nContent-Type: multipart/x-mixed-replace;boundary=\(boundary)\r\n"
            + noStore + extra + "Connection: close\r\n\r\n").utf8)
    }

    /// The answer to a connection refused before it could be read (every request slot, or the peer's share,
    /// taken): sent once, without reading the request, and the connection closed.
    public static let busy: [UInt8] = {
        let body = "503 server is busy, try again later\n"
        return Array(("HTTP/1.1 503 Service Unavailable\r\nServer: camd\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nRetry-After: 5\r\n" + noStore + "Connection: close\r\n\r\n" + body).utf8)
    }()
}
