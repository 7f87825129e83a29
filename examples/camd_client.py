#!/usr/bin/env python3
"""Read camd's native stream (docs/PROTOCOL.md) and decode each frame with OpenCV."""
import socket, struct, sys, cv2, numpy as np

def read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk: raise ConnectionError("camd closed the connection")
        buf += chunk
    return bytes(buf)

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0
with socket.create_connection((host, port)) as sock:
    n = 0
    while count == 0 or n < count:
        magic, version, fmt, flags, seq, ts_ns, w, h, length = struct.unpack('>4sBBHQQHHI', read_exact(sock, 32))
        assert magic == b'CAMF' and version == 1, "not a camd stream"
        image = cv2.imdecode(np.frombuffer(read_exact(sock, length), np.uint8), cv2.IMREAD_COLOR)
        print(f"frame {seq} {image.shape[1]}x{image.shape[0]} placeholder={flags & 1}", flush=True)
        n += 1  # e.g. cv2.imshow("camd", image); cv2.waitKey(1) on a desktop
