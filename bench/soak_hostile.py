#!/usr/bin/env python3
"""soak_hostile: the soak's hostile request mix, a few connections per second against camd's ports.

Each connection is one kind of misbehaviour (garbage bytes, a half request then silence, an oversized head,
a pipelined flood, a viewer that never reads, a reset, a TLS ClientHello on the HTTP port, control
characters in the request line, bytes sent to the native port). It records what camd answered (the status
line, or that it closed or reset) and how long it took, and ends by itself after --duration seconds.
Loopback only. One thread, one selector; at most --max-open connections held at once.
"""
import argparse
import json
import os
import random
import selectors
import socket
import struct
import time

# A TLS 1.2/1.3 ClientHello as a browser sends it to https://127.0.0.1/ (random and session id fixed).
CLIENT_HELLO = bytes.fromhex(
    "16030100c4010000c00303" + "ab" * 32 + "20" + "cd" * 32 +
    "0008130113021303c02f0100006f"
    "0000000e000c0000093132372e302e302e31"  # server_name 127.0.0.1
    "000a00080006001d00170018"               # supported_groups
    "000d0012001004030804040105030805050108060601"  # signature_algorithms
    "002b0005040304030300"                   # supported_versions
    "0033002600240017002000" + "ef" * 31 +   # key_share (x25519, 32 bytes, 31 + the last)
    "ef"
)

CONTROL_REQUESTS = [
    b"G\x01T /stream HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /stream HTTP/1.\x1b[31m1\r\nHost: x\r\n\r\n",
    b"GET\x00/ HTTP/1.1\r\n\r\n",
    b"\x7f\x7f\x7f / HTTP/1.1\r\n\r\n",
    b"GET /state HTTP/1.1\x07\r\nHost: x\r\n\r\n",
    b"GET /state HTT\xff/1.1\r\n\r\n",
    b"GET /state HTTP/1.1\r\nHo\x1bst: x\r\n\r\n",
]

KINDS = ["garbage", "half", "oversized", "pipelined", "never_reads", "reset", "tls", "control_chars", "native_garbage"]


class Attack:
    def __init__(self, kind, sock, started, deadline):
        self.kind = kind
        self.sock = sock
        self.started = started
        self.deadline = deadline
        self.status = None      # first response line, e.g. "HTTP/1.1 400 Bad Request"
        self.received = 0
        self.tail = b""


def parse_target(text):
    host, port = text.rsplit(":", 1)
    if not host.startswith("127."):
        raise SystemExit(f"soak_hostile: {text} is not a loopback address")
    return host, int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http", required=True, help="camd's HTTP listener, 127.0.0.1:PORT")
    parser.add_argument("--native", required=True, help="camd's native listener, 127.0.0.1:PORT")
    parser.add_argument("--duration", type=float, required=True, help="seconds to run (at most 86400)")
    parser.add_argument("--rate", type=float, default=4, help="connections started per second (at most 20)")
    parser.add_argument("--max-open", type=int, default=40, help="connections held at once")
    parser.add_argument("--out", required=True, help="JSON summary written here at the end")
    parser.add_argument("--log", help="one CSV line per connection: CLOCK_MONOTONIC ns at its start, kind, port")
    args = parser.parse_args()
    if not 0 < args.duration <= 86400 or not 0 < args.rate <= 20:
        raise SystemExit("soak_hostile: --duration must be in (0, 86400] and --rate in (0, 20]")
    http, native = parse_target(args.http), parse_target(args.native)

    sel = selectors.DefaultSelector()
    open_attacks = []
    counts = {kind: {"sent": 0, "outcomes": {}, "close_ms_max": 0.0} for kind in KINDS}
    skipped = 0
    connect_errors = {}
    start = time.monotonic()
    end = start + args.duration
    next_start = start
    rng = random.Random(12)
    log = open(args.log, "w", buffering=1) if args.log else None
    if log:
        log.write("mono_ns,kind,port\n")

    def finish(attack, outcome):
        now = time.monotonic()
        entry = counts[attack.kind]
        entry["outcomes"][outcome] = entry["outcomes"].get(outcome, 0) + 1
        if outcome in ("closed", "reset") or outcome.startswith("HTTP"):
            entry["close_ms_max"] = max(entry["close_ms_max"], round((now - attack.started) * 1000, 1))
        try:
            sel.unregister(attack.sock)
        except (KeyError, ValueError):
            pass
        attack.sock.close()
        open_attacks.remove(attack)

    def outcome_of(attack, how):
        # The answer's status code if camd sent one, then how the connection ended.
        code = attack.status.split(" ")[1] if attack.status and attack.status.startswith("HTTP/") and " " in attack.status else None
        return f"{code} then {how}" if code else how

    def start_attack(kind, now):
        target = native if kind in ("native_garbage",) else http
        if kind == "never_reads" and rng.random() < 0.5:
            target = native
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if kind == "never_reads":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(2)
        if log:
            log.write(f"{time.monotonic_ns()},{kind},{target[1]}\n")
        try:
            sock.connect(target)
        except OSError as error:
            connect_errors[str(error)] = connect_errors.get(str(error), 0) + 1
            sock.close()
            return
        counts[kind]["sent"] += 1
        hold = 3.0
        try:
            if kind == "garbage":
                sock.sendall(os.urandom(rng.randint(1, 2048)))
                hold = 8.0  # no line end, perhaps: camd waits request_timeout (5 s) for the head
            elif kind == "native_garbage":
                sock.sendall(os.urandom(rng.randint(1, 256)))
                hold = 1.0
            elif kind == "half":
                sock.sendall(rng.choice([b"GET /stream HTTP/1.1\r\nHost: x\r\n", b"GET /sta", b"G"]))
                hold = 20.0  # request_timeout is 5 s: camd should close it long before
            elif kind == "oversized":
                sock.sendall(b"GET /state HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * rng.randint(8300, 20000) + b"\r\n\r\n")
            elif kind == "pipelined":
                sock.sendall(b"GET /state HTTP/1.1\r\nHost: x\r\n\r\n" * rng.randint(50, 300))
                hold = 5.0
            elif kind == "never_reads":
                if target == http:
                    sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
                hold = 25.0  # client_timeout is 10 s
            elif kind == "reset":
                if rng.random() < 0.7:
                    sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
                    time.sleep(0.02)
                    try:
                        sock.recv(4096)
                    except OSError:
                        pass
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                counts[kind]["outcomes"]["sent RST"] = counts[kind]["outcomes"].get("sent RST", 0) + 1
                return
            elif kind == "tls":
                sock.sendall(CLIENT_HELLO)
                hold = 8.0
            elif kind == "control_chars":
                sock.sendall(rng.choice(CONTROL_REQUESTS))
        except OSError as error:
            counts[kind]["outcomes"][f"send failed: {error.strerror}"] = counts[kind]["outcomes"].get(f"send failed: {error.strerror}", 0) + 1
            sock.close()
            return
        sock.setblocking(False)
        attack = Attack(kind, sock, now, now + hold)
        open_attacks.append(attack)
        if kind != "never_reads":
            sel.register(sock, selectors.EVENT_READ, attack)

    while True:
        now = time.monotonic()
        if now >= end:
            break
        while next_start <= now:
            next_start += 1 / args.rate
            if len(open_attacks) >= args.max_open:
                skipped += 1
                continue
            start_attack(rng.choice(KINDS), now)
        for attack in [a for a in open_attacks if a.deadline <= now]:
            finish(attack, outcome_of(attack, "still open at our deadline"))
        timeout = max(0.0, min([next_start, end] + [a.deadline for a in open_attacks]) - time.monotonic())
        for key, _ in sel.select(timeout=min(timeout, 0.5)):
            attack = key.data
            try:
                data = attack.sock.recv(65536)
            except ConnectionResetError:
                finish(attack, outcome_of(attack, "reset"))
                continue
            except BlockingIOError:
                continue
            if not data:
                finish(attack, outcome_of(attack, "closed"))
                continue
            if attack.status is None:
                attack.status = data.split(b"\r\n", 1)[0][:80].decode("latin-1")
            attack.received += len(data)
            if attack.kind == "pipelined":
                # Status lines answered, counted across read boundaries.
                window = attack.tail + data
                answered = window.count(b"HTTP/1.") - attack.tail.count(b"HTTP/1.")
                attack.tail = window[-6:]
                counts["pipelined"]["responses"] = counts["pipelined"].get("responses", 0) + answered
    for attack in list(open_attacks):
        finish(attack, outcome_of(attack, "still open at the end"))
    summary = {
        "duration_s": round(time.monotonic() - start, 1),
        "sent": sum(entry["sent"] for entry in counts.values()),
        "skipped_max_open": skipped,
        "connect_errors": connect_errors,
        "kinds": counts,
    }
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
