// RTSPResponse: the bytes of one RTSP/1.0 response (RFC 2326 §7) — status line, CSeq, Date, Server, the
// headers the request's handling adds, Content-Length — and the RFC 1123 date it carries.

extension RTSPConnectionMachine {
    func response(_ status: Int, cseq: String?, extra: String, body: [UInt8] = [], now: RTSPTime) -> [ArraySlice<UInt8>] {
        var head = "RTSP/1.0 \(status) \(Self.reason(status))\r\n"
        if let cseq { head += "CSeq: \(cseq)\r\n" }
        head += "Date: \(HTTPDate.format(unixNanos: now.wallNanos))\r\nServer: camd\r\n" + extra
        if !body.isEmpty || status >= 400 { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return body.isEmpty ? [Array(head.utf8)[...]] : [Array(head.utf8)[...], body[...]]
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Request Entity Too Large"
        case 431: "Request Header Fields Too Large"
        case 451: "Parameter Not Understood"
        case 454: "Session Not Found"
        case 455: "Method Not Valid in This State"
        case 461: "Unsupported Transport"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "RTSP Version Not Supported"
        default: "Error"
        }
    }
}

/// RFC 1123 dates for the Date header ("Thu, 03 Dec 2026 15:20:00 GMT").
enum HTTPDate {
    static func format(unixNanos: UInt64) -> String {
        let seconds = Int64(unixNanos / 1_000_000_000)
        let days = seconds / 86_400
        let rest = Int(seconds % 86_400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400 + (month <= 2 ? 1 : 0))
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekdays[Int(days % 7)]), \(two(day)) \(months[month - 1]) \(year) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60)) GMT"
    }
}
