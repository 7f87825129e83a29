#!/usr/bin/env python3
"""camd behind nginx with TLS (examples/nginx/camd.conf), checked with real clients; run by scripts/proxy-test.sh.

Starts camd (trusted_proxies = ["127.0.0.1"]) and a real nginx in the foreground with the example file itself
(only its listen port, upstream port and certificate paths replaced) and a fresh self-signed certificate, then:
  - /snapshot through HTTPS with curl --cacert: a JPEG that djpeg decodes, at camd's size;
  - /stream through HTTPS with ffprobe (certificate verified): codec mjpeg, camd's size;
  - headless Chromium over HTTPS: the live page's script filled in /state, and a page with the stream in an
    <img> sees two different frames (drawn to a canvas at two moments);
  - X-Forwarded-For: a viewer at 127.0.0.5 that forges "X-Forwarded-For: 6.6.6.6" through nginx is logged and
    listed (control socket `clients`) as 127.0.0.5 via nginx; the same forgery sent straight to camd is logged
    with the real peer; after a reload with trusted_proxies = [] the viewer through nginx is logged as nginx;
  - /metrics through nginx: 403 for 127.0.0.5, 200 for 127.0.0.1 (the example's allow list);
  - a bad trusted_proxies entry: exit 78 and one line naming the key and the entry.
Every wait polls for a condition with a deadline. Prints "N passed, M failed"; exit status 1 on any failure.
"""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug")
EXAMPLE = os.path.join(ROOT, "examples/nginx/camd.conf")
VIEWER_IP = "127.0.0.5"  # a loopback address of its own, so the viewer and nginx (127.0.0.1) differ
OTHER_VIEWER_IP = "127.0.0.6"
FORGED = "6.6.6.6"
WIDTH, HEIGHT = 320, 240

passed, failed = 0, 0
procs = []


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}" + (f": {str(detail)[:600]}" if detail else ""))
    return ok


def wait_for(condition, timeout, step=0.05):
    """Polls `condition` until it returns something truthy (returned) or `timeout` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(step)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, timeout=30, **kw):
    return subprocess.run(args, capture_output=True, timeout=timeout, **kw)


class Camd:
    def __init__(self, work, config):
        self.log_path = os.path.join(work, "camd.log")
        self.control = os.path.join(work, "control")
        self.config = os.path.join(work, "camd.toml")
        with open(self.config, "w") as f:
            f.write(config)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([os.path.join(BIN, "camd"), "--config", self.config, "--listen", "127.0.0.1:0",
                                      "--http-listen", "127.0.0.1:0", "--rtsp-listen", "off", "--control-socket", self.control,
                                      "--stats-interval", "0", "--width", str(WIDTH), "--height", str(HEIGHT),
                                      "--fps", "15", "--http-allow-origin", "*"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        procs.append(self.proc)
        line = wait_for(lambda: self.find(r"http viewers: http://127\.0\.0\.1:(\d+)/"), 20)
        if not line:
            raise SystemExit(f"camd did not start listening:\n{self.text()[-2000:]}")
        self.port = int(line.group(1))

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def find(self, pattern):
        return re.search(pattern, self.text())

    def command(self, line):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(self.control)
            s.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)


def nginx_config(work, tls_port, camd_port, cert, key):
    """The example, with only its port, upstream and certificate paths changed; each must be found once, so a
    changed example fails here instead of drifting from what is tested."""
    with open(EXAMPLE) as f:
        text = f.read()
    for old, new in [("listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl;"),
                     ("server 127.0.0.1:8080;", f"server 127.0.0.1:{camd_port};"),
                     ("/etc/ssl/camd/camd.crt", cert), ("/etc/ssl/camd/camd.key", key)]:
        if text.count(old) != 1:
            raise SystemExit(f"examples/nginx/camd.conf: expected {old!r} once, found it {text.count(old)} times")
        text = text.replace(old, new)
    site = os.path.join(work, "camd.conf")
    with open(site, "w") as f:
        f.write(text)
    temp = {name: os.path.join(work, name) for name in ["body", "proxy", "fastcgi", "uwsgi", "scgi"]}
    main = os.path.join(work, "nginx.conf")
    with open(main, "w") as f:
        # Foreground, one process (SIGKILL stops it whole), every path in the scratch directory.
        f.write(f"""daemon off;
master_process off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {work}/nginx-access.log;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {site};
}}
""")
    return main


def tls_context(cert):
    context = ssl.create_default_context(cafile=cert)
    return context


def stream_parts(port, headers, want, cert=None, source=None, timeout=15):
    """GET /stream (over TLS when `cert`), from `source` address; reads until `want` JPEG parts arrived.
    Returns (parts, open socket) — the caller closes it."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0) if source else None)
    sock = tls_context(cert).wrap_socket(raw, server_hostname="127.0.0.1") if cert else raw
    request = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(request.encode())
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while data.count(b"\xff\xd9") < want and time.monotonic() < deadline and len(data) < 20_000_000:
            # Another answer than 200 (a 503 kept alive by nginx) has no parts to wait for.
            if b"\r\n\r\n" in data and not data.startswith(b"HTTP/1.1 200 "):
                break
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ssl.SSLError, OSError):
        pass
    return data.count(b"\xff\xd9"), data[:200], sock


def frame_delays(port, cert, count, timeout=20):
    """Seconds from each frame's capture (its X-Timestamp) to the arrival of its last byte through nginx, for `count`
    frames after the first (which is the ring's latest, older by up to a frame). HTTP/1.0, so nginx relays the
    stream as it is (no chunked framing)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock = tls_context(cert).wrap_socket(raw, server_hostname="127.0.0.1")
    sock.sendall(b"GET /stream HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    buf, offset, delays = b"", 0, []
    deadline = time.monotonic() + timeout
    try:
        while len(delays) < count + 1 and time.monotonic() < deadline and len(buf) < 20_000_000:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            arrived = time.time()
            while True:
                end = buf.find(b"\r\n\r\n", offset)
                if end < 0:
                    break
                head = buf[offset:end]
                length = re.search(rb"Content-Length: (\d+)", head)
                stamp = re.search(rb"X-Timestamp: ([\d.]+)", head)
                if not (length and stamp):  # the response's own head
                    offset = end + 4
                    continue
                if len(buf) < end + 4 + int(length.group(1)):
                    break
                delays.append(arrived - float(stamp.group(1)))
                offset = end + 4 + int(length.group(1))
    except (socket.timeout, ssl.SSLError, OSError):
        pass
    sock.close()
    return delays[1:]


def main():
    for tool in ["nginx", "openssl", "curl", "ffprobe", "djpeg"]:
        if not shutil.which(tool):
            raise SystemExit(f"proxy-test: {tool} is missing (scripts/deps.sh test installs it)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    work = tempfile.mkdtemp(prefix="camd-proxy-")
    try:
        cert, key = os.path.join(work, "camd.crt"), os.path.join(work, "camd.key")
        made = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert])
        if made.returncode != 0:
            raise SystemExit(f"openssl: {made.stderr.decode()[-500:]}")

        # A bad entry never starts camd: one line, the key and the entry, EX_CONFIG.
        bad = run([os.path.join(BIN, "camd"), "--trusted-proxies", "127.0.0.1", "--trusted-proxies", "10.1.2.3/8", "--check-config"])
        lines = bad.stderr.decode().strip().splitlines()
        check(bad.returncode == 78 and len(lines) == 1 and "config error: trusted_proxies = " in lines[0] and "10.1.2.3/8" in lines[0],
              "a bad trusted_proxies entry exits 78 with one line naming the key and the entry", (bad.returncode, lines))

        camd = Camd(work, 'trusted_proxies = ["127.0.0.1"]\n')
        tls_port = free_port()
        conf = nginx_config(work, tls_port, camd.port, cert, key)
        nginx = subprocess.Popen(["nginx", "-p", work, "-e", os.path.join(work, "nginx-error.log"), "-c", conf],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(nginx)

        def tls_up():
            try:
                socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                return True
            except OSError:
                return nginx.poll() is not None  # exited: stop waiting, reported below
        wait_for(tls_up, 15)
        if nginx.poll() is not None:
            raise SystemExit(f"nginx exited: {nginx.stderr.read().decode()[-1500:]}")
        https = f"https://127.0.0.1:{tls_port}"

        # /snapshot through TLS, the certificate verified: a JPEG of camd's size.
        snap = os.path.join(work, "snap.jpg")
        got = run(["curl", "-sS", "--cacert", cert, "-o", snap, "-w", "%{http_code} %{content_type}", https + "/snapshot"])
        decoded = run(["djpeg", snap]) if os.path.exists(snap) else None
        header = decoded.stdout[:20].split(b"\n") if decoded else []
        check(got.stdout.decode() == "200 image/jpeg" and decoded.returncode == 0 and header[:2] == [b"P6", f"{WIDTH} {HEIGHT}".encode()],
              "curl --cacert https /snapshot: a JPEG that decodes, 320x240", (got.stdout, got.stderr[-300:], header[:2]))

        # /stream through TLS with ffprobe, verifying the certificate.
        probe = run(["ffprobe", "-v", "error", "-tls_verify", "1", "-ca_file", cert, "-select_streams", "v:0",
                     "-show_entries", "stream=codec_name,width,height", "-of", "json", https + "/stream"], timeout=60)
        streams = json.loads(probe.stdout or b"{}").get("streams", [{}]) if probe.returncode == 0 else [{}]
        check(streams[0] == {"codec_name": "mjpeg", "width": WIDTH, "height": HEIGHT},
              "ffprobe https /stream: mjpeg 320x240", (probe.returncode, probe.stdout[-300:], probe.stderr[-400:]))

        # Chromium over TLS: the page's script read /state; a page holding the stream in <img> sees frames change.
        if chromium:
            profile = os.path.join(work, "chromium")
            base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--ignore-certificate-errors",
                    f"--user-data-dir={profile}", "--window-size=640,480"]
            dom = run(base + ["--virtual-time-budget=3000", "--dump-dom", https + "/"], timeout=60).stdout.decode(errors="replace")
            check(f'<span id="size">{WIDTH}×{HEIGHT} JPEG</span>' in dom and "testpattern (streaming)" in dom,
                  "chromium https /: the live page shows /state", dom[-600:])
            page = os.path.join(work, "frames.html")
            with open(page, "w") as f:
                f.write(FRAMES_PAGE.replace("STREAM_URL", https + "/stream"))
            dom = run(base + ["--allow-file-access-from-files", "--virtual-time-budget=8000", "--dump-dom", "file://" + page],
                      timeout=60).stdout.decode(errors="replace")
            result = re.search(r'<pre id="result">([^<]*)</pre>', dom)
            check(result and result.group(1).startswith(f"frames-advance {WIDTH}x{HEIGHT}"),
                  "chromium https /stream in <img>: two different frames drawn", dom[-600:])
        else:
            check(False, "chromium is missing (scripts/deps.sh test installs it)")

        # A viewer at 127.0.0.5 forges X-Forwarded-For through nginx: nginx appends 127.0.0.5, camd believes nginx
        # (127.0.0.1) and takes the right-most untrusted entry — the viewer's real address.
        parts, _, sock = stream_parts(tls_port, {"X-Forwarded-For": FORGED}, 2, cert=cert, source=VIEWER_IP)
        check(parts >= 2, "a viewer streams through nginx", parts)
        line = wait_for(lambda: camd.find(r"viewer (\d+) connected: " + re.escape(VIEWER_IP) + r" via 127\.0\.0\.1:\d+ \(http /stream\)"), 10)
        check(line is not None, f"camd logs the forwarded viewer as {VIEWER_IP} via nginx", camd.text()[-800:])
        clients = camd.command("clients").get("clients", [])
        mine = [c for c in clients if c.get("peer") == VIEWER_IP and c.get("via", "").startswith("127.0.0.1:")]
        check(len(mine) == 1 and mine[0]["streaming"], "control `clients` lists the viewer's address and the proxy", clients)
        table = run([os.path.join(BIN, "camctl"), "clients", "--socket", camd.control]).stdout.decode()
        check(re.search(re.escape(VIEWER_IP) + r" via 127\.0\.0\.1:\d+ +http +stream", table) is not None,
              "camctl clients shows the viewer via the proxy", table)
        # max_clients_per_ip counts viewers behind a trusted proxy by the address it names, not as one address.
        camd.command("set max_clients_per_ip 1")
        other, _, sock2 = stream_parts(tls_port, {}, 1, cert=cert, source=OTHER_VIEWER_IP)
        sock2.close()
        again, head, sock3 = stream_parts(tls_port, {}, 1, cert=cert, source=VIEWER_IP)
        sock3.close()
        camd.command("set max_clients_per_ip 0")
        check(other >= 1 and again == 0 and head.startswith(b"HTTP/1.1 503"),
              "max_clients_per_ip = 1 behind nginx: a second viewer address streams, the same one gets 503", (other, again, head))
        sock.close()
        if line:
            gone = wait_for(lambda: camd.find(r"viewer " + line.group(1) + r" disconnected: " + re.escape(VIEWER_IP) + r" via 127\.0\.0\.1:\d+"), 15)
            check(gone is not None, "the disconnect line names the forwarded viewer too", camd.text()[-600:])

        # The same forgery straight to camd from an untrusted peer: ignored, the real peer is logged.
        parts, _, sock = stream_parts(camd.port, {"X-Forwarded-For": FORGED}, 1, source=VIEWER_IP)
        sock.close()
        direct = wait_for(lambda: camd.find(r"connected: " + re.escape(VIEWER_IP) + r":\d+ \(http /stream\)"), 10)
        check(parts >= 1 and direct is not None, "a direct client's forged X-Forwarded-For is ignored (logged with its peer)",
              camd.text()[-600:])
        check(FORGED not in camd.text(), "the forged address appears nowhere in camd's log")

        # From a trusted peer, a header camd cannot read leaves the peer's address, and its excerpt is escaped.
        parts, _, sock = stream_parts(camd.port, {"X-Forwarded-For": "203.0.113.9, \u00e9vil"}, 1)
        sock.close()
        noted = wait_for(lambda: camd.find(r'X-Forwarded-For from a trusted proxy not used: entry "\\xc3\\xa9vil" is not an IP address'), 10)
        fallback = wait_for(lambda: camd.find(r"connected: 127\.0\.0\.1:\d+ \(http /stream\)"), 10)
        check(parts >= 1 and noted is not None and fallback is not None and "203.0.113.9" not in camd.text(),
              "an unreadable X-Forwarded-For from a trusted peer: logged escaped, the peer's address used", camd.text()[-600:])

        # /metrics: the example lets only loopback's 127.0.0.1 (and ::1) through.
        denied = run(["curl", "-sS", "--cacert", cert, "--interface", VIEWER_IP, "-o", "/dev/null", "-w", "%{http_code}", https + "/metrics"])
        allowed = run(["curl", "-sS", "--cacert", cert, https + "/metrics"])
        check(denied.stdout == b"403" and b"camd_viewers" in allowed.stdout, "/metrics: 403 for others, served to 127.0.0.1",
              (denied.stdout, allowed.stdout[:200]))

        # proxy_buffering off: each frame reaches the viewer as soon as camd sends it. At 2 fps a buffering proxy holds a
        # frame's tail until the next frame pushes it out, half a second later.
        camd.command("set fps 2")
        delays = frame_delays(tls_port, cert, 3)
        camd.command("set fps 15")
        check(len(delays) == 3 and sorted(delays)[1] < 0.25, "at 2 fps each frame arrives through nginx at once (median < 250 ms)",
              [round(d, 3) for d in delays])

        # Reload without trusted_proxies: the same viewer through nginx is now nginx's address.
        with open(camd.config, "w") as f:
            f.write("trusted_proxies = []\n")
        reply = camd.command("reload")
        check(any("trusted_proxies" in c for c in reply.get("changes", [])), "reload applies trusted_proxies = []", reply)
        parts, _, sock = stream_parts(tls_port, {"X-Forwarded-For": FORGED}, 1, cert=cert, source=VIEWER_IP)
        sock.close()
        untrusted = wait_for(lambda: len(re.findall(r"connected: 127\.0\.0\.1:\d+ \(http /stream\)", camd.text())) == 2, 10)
        check(parts >= 1 and untrusted is not None, "untrusted nginx: the viewer is logged as the proxy's address",
              camd.text()[-600:])
        check(len(re.findall(r"viewer \d+ connected: " + re.escape(VIEWER_IP) + " via", camd.text())) == 1 and FORGED not in camd.text(),
              "…and X-Forwarded-For is not used for it", camd.text()[-600:])
        check(camd.proc.poll() is None and nginx.poll() is None, "camd and nginx still running")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
        if failed:
            for name in ["camd.log", "nginx-error.log"]:
                path = os.path.join(work, name)
                if os.path.exists(path):
                    print(f"--- {name} (end)")
                    print(open(path, errors="replace").read()[-1500:])
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


# Draws the stream's <img> to a canvas now and again until two draws differ (the test pattern's ticker and frame
# number change every frame), then writes what it saw into #result. The stream comes through nginx with camd's
# Access-Control-Allow-Origin (http_allow_origin = "*"), so the canvas may be read.
FRAMES_PAGE = """<!doctype html><html><body><img id="s" crossorigin="anonymous" src="STREAM_URL"><pre id="result">waiting</pre>
<script>
const img = document.getElementById('s'), out = document.getElementById('result');
const canvas = document.createElement('canvas');
let first = null, tries = 0;
function grab() {
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const g = canvas.getContext('2d'); g.drawImage(img, 0, 0);
  return g.getImageData(0, 0, canvas.width, canvas.height).data;
}
function poll() {
  tries++;
  try {
    if (img.naturalWidth > 0) {
      const now = grab();
      if (!first) first = now;
      else for (let i = 0; i < now.length; i++) if (now[i] !== first[i]) {
        out.textContent = 'frames-advance ' + img.naturalWidth + 'x' + img.naturalHeight; return;
      }
    }
  } catch (e) { out.textContent = 'error ' + e; return; }
  if (tries < 60) setTimeout(poll, 100); else out.textContent = 'no change seen';
}
setTimeout(poll, 100);
</script></body></html>"""

if __name__ == "__main__":
    main()
