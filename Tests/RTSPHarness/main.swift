// rtsp-harness (tests only): serves a pre-encoded H.264 Annex-B file at rtsp://127.0.0.1:PORT/stream (H264Packetizer)
// and, given an MJPEG file too, its frames at /mjpeg (JPEGPacketizer), through RTSPConnectionMachine on plain
// poll loopback sockets, so real clients (ffprobe, ffmpeg, GStreamer) can be pointed at the protocol layer before
// it is wired into camd's reactor. TCP interleaved only; one access unit per 1/fps and path, packetised once and
// offered to every connection playing that path.
//
//   rtsp-harness PORT FILE.h264 [FPS] [REQUEST-LOG] [FILE.mjpeg]
//
// RTSP_HARNESS_AUTH="Basic …" and/or RTSP_HARNESS_TOKEN=… turn access control on: a request passes with exactly that
// Authorization header or ?token= (a stand-in for HTTPAccessControl, which the daemon's driver will use).
// Prints "listening PORT" once bound. REQUEST-LOG, if given, receives every byte clients send (fuzz seeds).
import CamdSystem
import H264
import JPEG
import RTSP
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = UInt16(arguments[1]) else {
    print("usage: rtsp-harness PORT FILE.h264 [FPS] [REQUEST-LOG]")
    exit(2)
}
let fps = arguments.count > 3 ? Double(arguments[3]) ?? 30 : 30
let requestLog: UnsafeMutablePointer<FILE>? = arguments.count > 4 ? fopen(arguments[4], "w") : nil

// MARK: The file as access units (H264.AnnexB splits the NAL units)

func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { print("cannot open \(path)"); exit(1) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    fclose(file)
    return bytes
}

/// One picture per access unit: a VCL NAL (types 1–5) closes the unit it belongs to (single-slice pictures).
func accessUnits(_ nals: [ArraySlice<UInt8>]) -> [[ArraySlice<UInt8>]] {
    var units: [[ArraySlice<UInt8>]] = []
    var current: [ArraySlice<UInt8>] = []
    for nal in nals {
        current.append(nal)
        if (1...5).contains(H264Packetizer.nalType(nal)) {
            units.append(current)
            current = []
        }
    }
    return units
}

let stream = readFile(arguments[2])
let units = accessUnits(AnnexB.nalUnits(in: stream).map { stream[$0] })
guard let first = units.first, let sps = first.first(where: { H264Packetizer.nalType($0) == 7 }),
      let pps = first.first(where: { H264Packetizer.nalType($0) == 8 }) else {
    print("the file does not start with SPS and PPS")
    exit(1)
}
let requiredAuthorization = getenv("RTSP_HARNESS_AUTH").map { String(cString: $0) }
let requiredToken = getenv("RTSP_HARNESS_TOKEN").map { String(cString: $0) }
let clock = RTPClock(offset: 0x1234_5678)
guard let sets = H264ParameterSets(sps: Array(sps), pps: Array(pps)) else {
    print("the file's first SPS or PPS is too short")
    exit(1)
}
let media = RTSPMedia(codec: .h264(sets), width: 0, height: 0, fps: fps, ssrc: 0xC0FF_EE01, clock: clock)
let jpegFile = arguments.count > 5 ? readFile(arguments[5]) : []
let jpegFrames: [[UInt8]] = jpegFile.withUnsafeBytes { raw in JPEGScanner.split(raw).frames.map { Array(jpegFile[$0]) } }
let jpegMedia = jpegFrames.first.flatMap { try? JPEGPacketizer.readHeader($0) }.map {
    RTSPMedia(codec: .jpeg, width: $0.width, height: $0.height, fps: fps, ssrc: 0xC0FF_EE02, clock: clock)
}

// MARK: Connections

func now() -> RTSPTime { RTSPTime(monotonic: Clock.monotonicNanos(), wallNanos: Clock.realtimeNanos()) }

final class Connection {
    let socket: Descriptor
    var machine: RTSPConnectionMachine
    var blocked = false
    var playing: String?
    init(socket: Descriptor, machine: RTSPConnectionMachine) {
        self.socket = socket
        self.machine = machine
    }
}

let listener: Descriptor
do {
    listener = try Socket.listen(on: try SocketAddress(parsing: "127.0.0.1:\(port)"))
} catch {
    print("listen: \(error)")
    exit(1)
}
print("listening \(port)")
fflush(nil)

var connections: [Connection] = []
var packetizer = H264Packetizer()
var nextUnit = 0
let interval = UInt64(1e9 / fps)
var nextDue = Clock.monotonicNanos()
let wallStart = Clock.realtimeNanos()
var lastTick = Clock.monotonicNanos()
var sessionCounter: UInt32 = 0

func run(_ connection: Connection) {
    while let action = connection.machine.nextAction() {
        switch action {
        case .write(let outgoing):
            var bytes: [UInt8] = []
            for chunk in outgoing.chunks { bytes += chunk }
            switch (try? Socket.send(connection.socket, bytes, offset: outgoing.offset)) ?? .done(-1) {
            case .done(let count) where count >= 0: connection.machine.wrote(count, now: now())
            case .done: connection.machine.receivedEnd()
            case .wouldBlock:
                connection.machine.writeWouldBlock()
                connection.blocked = true
            }
        case .authorize(let request):
            let given = request.headers["authorization"]
            let allowed = (requiredAuthorization != nil && given == requiredAuthorization)
                || (requiredToken != nil && request.parameter("token") == requiredToken)
            let decision: RTSPAccessDecision = allowed ? .allowed : given == nil && request.parameter("token") == nil ? .missing : .denied(who: "test")
            connection.machine.accessDecided(decision, now: now())
        case .wantMedia:
            break
        case .startStream(let path): connection.playing = path
        case .stopStream: connection.playing = nil
        case .requestKeyframe, .sendDatagrams: break
        case .note(let note): print("note \(note)"); fflush(nil)
        case .close(let reason):
            print("close \(reason)")
            connection.socket.close()
        }
    }
}

var buffer = [UInt8](repeating: 0, count: 16384)
while true {
    var descriptors: [(fd: Int32, events: PollEvents)] = [(listener.number, .readable)]
    for connection in connections {
        descriptors.append((connection.socket.number, connection.blocked ? [.readable, .writable] : .readable))
    }
    let ready = (try? Poll.wait(descriptors, timeoutMilliseconds: 5)) ?? nil
    if let ready {
        if ready[0].contains(.readable), case .done(let (socket, _))? = try? Socket.accept(listener) {
            sessionCounter += 1
            let id = String(0x5E55_0000 + sessionCounter, radix: 16, uppercase: true)
            var settings = RTSPSettings()
            settings.paths = jpegMedia == nil ? ["/stream"] : ["/stream", "/mjpeg"]
            settings.accessControlled = requiredAuthorization != nil || requiredToken != nil
            settings.challenge = requiredAuthorization != nil ? "WWW-Authenticate: Basic realm=\"camd\", charset=\"UTF-8\"\r\n" : ""
            var machine = RTSPConnectionMachine(settings: settings, sessionID: id, initialSequence: 1000, now: now())
            machine.mediaAvailable(path: "/stream", media, now: now())
            if let jpegMedia { machine.mediaAvailable(path: "/mjpeg", jpegMedia, now: now()) }
            connections.append(Connection(socket: socket, machine: machine))
        }
        for (k, connection) in connections.enumerated() where k + 1 < ready.count {
            let events = ready[k + 1]
            if events.contains(.writable) {
                connection.blocked = false
                connection.machine.writable(now: now())
            }
            if !events.intersection([.readable, .hangup, .error]).isEmpty {
                let room = min(buffer.count, connection.machine.inputRoom)
                if room > 0 {
                    var slice = [UInt8](repeating: 0, count: room)
                    switch (try? Socket.read(connection.socket, into: &slice)) ?? .done(0) {
                    case .done(0): connection.machine.receivedEnd()
                    case .done(let count):
                        if let requestLog { fwrite(slice, 1, count, requestLog); fflush(requestLog) }
                        connection.machine.received(slice[0..<count], now: now())
                    case .wouldBlock: break
                    }
                }
            }
            run(connection)
        }
    }
    let t = Clock.monotonicNanos()
    if t >= nextDue {
        nextDue += interval
        let nals = units[nextUnit % units.count]
        nextUnit += 1
        // Capture times on the ideal schedule (start + k/fps), as camd's pacer aims for: a loop that wakes a few
        // ms late must not make the clients' frame-rate estimate wobble.
        let capture = wallStart + UInt64(nextUnit - 1) * interval
        let unit = packetizer.packetize(nals, timestamp: clock.timestamp(captureNanos: capture), captureNanos: capture)
        for connection in connections where connection.playing == "/stream" {
            connection.machine.accessUnit(unit, now: now())
            run(connection)
        }
        if !jpegFrames.isEmpty,
           let jpegUnit = try? JPEGPacketizer().packetize(jpegFrames[(nextUnit - 1) % jpegFrames.count],
                                                          timestamp: clock.timestamp(captureNanos: capture), captureNanos: capture) {
            for connection in connections where connection.playing == "/mjpeg" {
                connection.machine.accessUnit(jpegUnit, now: now())
                run(connection)
            }
        }
    }
    if t - lastTick >= 100_000_000 {
        lastTick = t
        for connection in connections {
            connection.machine.tick(now: now())
            run(connection)
        }
    }
    connections.removeAll { $0.machine.isClosed }
}
