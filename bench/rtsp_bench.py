#!/usr/bin/env python3
"""RTSP fan-out benchmark (issue 16): camd's RTSP server against GStreamer's, viewers from camload --protocol rtsp.

  rtsp_bench.py compare --bin DIR [--clients 100,500] [--rounds 2] [--duration 10] [--server camd|harness]
      CPU per delivered frame: for each round and each N, a fresh camd then a fresh GStreamer RTSP server
      (bench/rtsp_gst_server.py, one shared media), each loaded by N RTSP-over-TCP viewers; runs interleaved.
  rtsp_bench.py latency --bin DIR [--clients 4] [--duration 20] [--server camd|harness]
      Capture-to-first-packet latency (RTCP SR NTP<->RTP mapping, same host, same clock), the payload bitrate
      one viewer receives, and camd's encode time from /state (an "h264" object, if camd exposes one).
  rtsp_bench.py smoke --bin DIR [--clients 20] [--duration 10] [--server camd|harness]
      A short CI check: every viewer got frames, none failed or was disconnected. Exit 1 otherwise.

Both servers encode the same kind of picture once with libx264 (ultrafast, zerolatency, 2 Mbit/s, GOP 30,
no B-frames) at 1280x720 30 fps: camd its built-in test pattern (scrolling bars, drawn and JPEG-encoded by the
capture thread every frame whatever the viewers are), GStreamer videotestsrc's SMPTE bars scrolling at about the
same speed. Server CPU is utime+stime of the server process (/proc/PID/stat) over the measured window after every
viewer is playing, divided by the access units (RTP marker bits) all viewers received in that window; camload
measures both. --server harness uses Tests/RTSPHarness (a pre-encoded file, no encoder) in camd's place, to test
the tooling before camd serves RTSP.

Everything listens on 127.0.0.1; every process started here is bounded in time and stopped on exit.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GST_PYTHON = "/usr/bin/python3"  # Debian's python3-gi lives in the system interpreter
FPS = 30


class Procs:
    """Every child started, stopped however the run ends."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)

    def stop_all(self):
        for p in self.procs:
            self.stop(p)


def wait_port(port, proc, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited ({proc.returncode}) before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what}: nothing listening on 127.0.0.1:{port} after {seconds:g} s")


def get_state(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conn.request("GET", "/state")
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return json.loads(body) if r.status == 200 else None
    except (OSError, ValueError):
        return None


class Bench:
    def __init__(self, a):
        self.a = a
        self.procs = Procs()
        os.makedirs(a.out, exist_ok=True)
        self.seq = 0

    # Servers. Each returns (process, rtsp port, http port or None).

    def start_server(self, kind, label, bound):
        self.seq += 1
        base = self.a.port_base + 10 * (self.seq % 50)
        log = open(os.path.join(self.a.out, f"{label}.log"), "w")
        if kind == "camd":
            cfg = os.path.join(self.a.out, f"{label}.toml")
            with open(cfg, "w") as f:
                f.write(f'''# Written by bench/rtsp_bench.py.
listen = ["127.0.0.1:{base}"]
http_listen = ["127.0.0.1:{base + 1}"]
rtsp_listen = ["127.0.0.1:{base + 2}"]
source = "testpattern"
width = 1280
height = 720
fps = {FPS}
h264_encoder = "{self.a.encoder}"
h264_bitrate = 2000000
h264_gop = 30
max_clients = 2000
max_clients_per_ip = 0
stats_interval = 0
log_level = "warning"
''')
            p = self.procs.start(["timeout", "-s", "TERM", str(int(bound)), os.path.join(self.a.bin, "camd"), "--config", cfg],
                                 stdout=log, stderr=subprocess.STDOUT)
            wait_port(base + 2, p, 15, "camd (rtsp_listen)")
            return p, base + 2, base + 1
        if kind == "gst":
            p = self.procs.start(["timeout", "-s", "TERM", str(int(bound)), GST_PYTHON, os.path.join(HERE, "rtsp_gst_server.py"),
                                  str(base + 2), "--seconds", str(int(bound))], stdout=log, stderr=subprocess.STDOUT)
            wait_port(base + 2, p, 15, "GStreamer RTSP server")
            return p, base + 2, None
        if kind == "harness":
            p = self.procs.start(["timeout", "-s", "TERM", str(int(bound)), os.path.join(self.a.bin, "rtsp-harness"),
                                  str(base + 2), self.h264_file(), str(FPS)], stdout=log, stderr=subprocess.STDOUT)
            wait_port(base + 2, p, 15, "rtsp-harness")
            return p, base + 2, None
        raise SystemExit(f"unknown server {kind}")

    def h264_file(self):
        path = os.path.join(self.a.out, "720p30.h264")
        if not os.path.exists(path):
            # One slice per picture (-threads 1): the harness's test-only Annex-B split takes each slice for a picture.
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                            "-frames:v", "300", "-c:v", "libx264", "-threads", "1", "-preset", "ultrafast", "-tune", "zerolatency",
                            "-bf", "0", "-g", "30", "-b:v", "2M", "-f", "h264", path], check=True, timeout=120)
        return path

    @staticmethod
    def server_pid(p):
        """The server under `timeout`: its only child."""
        for _ in range(50):
            try:
                with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                    kids = f.read().split()
                if kids:
                    return int(kids[0])
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("cannot find the server's process id")

    def load(self, kind, n, label, duration=None, warmup=None):
        a = self.a
        duration = duration or a.duration
        warmup = a.warmup if warmup is None else warmup
        ramp = n / a.connect_rate if a.connect_rate > 0 else 0
        bound = ramp + a.play_timeout + warmup + duration + 30
        p, port, http_port = self.start_server(kind, label, bound)
        pid = self.server_pid(p)
        try:
            with open("/proc/loadavg") as f:
                loadavg = " ".join(f.read().split()[:3])
            argv = [os.path.join(a.bin, "camload"), "--target", f"127.0.0.1:{port}", "--protocol", "rtsp", "--path", "/stream",
                    "--clients", str(n), "--connect-rate", str(a.connect_rate), "--warmup", str(warmup),
                    "--duration", str(duration), "--play-timeout", str(a.play_timeout), "--source-fps", str(FPS), "--pid", str(pid), "--json", "--label", label]
            # camd's /state, read once a second while the viewers play (its "h264" object describes the encoder
            # while it runs); the last reading with RTSP viewers is kept.
            load = self.procs.start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            state, deadline = None, time.monotonic() + bound
            while load.poll() is None and time.monotonic() < deadline:
                if http_port:
                    s = get_state(http_port)
                    if isinstance(s, dict) and s.get("viewers_rtsp"):
                        state = s
                time.sleep(1)
            if load.poll() is None:
                self.procs.stop(load)
                raise SystemExit(f"{label}: camload did not finish within {bound:.0f} s")
            r = subprocess.CompletedProcess(argv, load.returncode, *load.communicate())
            with open(os.path.join(a.out, f"{label}.camload.txt"), "w") as f:
                f.write(" ".join(argv) + "\n" + r.stderr + r.stdout)
            try:
                result = json.loads(r.stdout)
            except ValueError:
                raise SystemExit(f"{label}: camload exited {r.returncode}: {r.stderr.strip()[-400:]}")
            result["server"] = kind
            result["n"] = n
            result["loadavg_before"] = loadavg
            if http_port:
                result["state"] = state
                with open(os.path.join(a.out, f"{label}.state.json"), "w") as f:
                    json.dump(state, f, indent=1)
            if p.poll() is not None:
                result["problems"] = result.get("problems", []) + [f"server exited ({p.returncode}) during the run"]
            print(r.stderr.strip().splitlines()[0] if r.stderr.strip() else label, file=sys.stderr, flush=True)
            return result
        finally:
            self.procs.stop(p)

    # Modes

    def compare(self):
        a = self.a
        ns = [int(x) for x in a.clients.split(",")]
        # N = 1 first in each round: each server's cost of making the pictures (capture/test pattern, encode) with
        # next to no fan-out, subtracted below to leave the fan-out's own cost per delivered frame.
        runs = ([1] if a.baseline and 1 not in ns else []) + ns
        results = []
        for rnd in range(1, a.rounds + 1):
            for n in runs:
                for kind in (a.server, "gst"):
                    r = self.load(kind, n, f"r{rnd}-{kind}-{n}")
                    if any("server exited" in p for p in r.get("problems", [])):
                        # gst-rtsp-server 1.22 can abort (gst_rtsp_media_get_rates assertion) while hundreds of
                        # clients join one shared media: kept in the results, and the run is tried once more.
                        r["label"] += "-crashed"
                        results.append(r)
                        time.sleep(1)
                        r = self.load(kind, n, f"r{rnd}-{kind}-{n}")
                    results.append(r)
                    time.sleep(1)
        with open(os.path.join(a.out, "compare.json"), "w") as f:
            json.dump(results, f, indent=1)
        print(render_compare(results, a.server, ns))

    def latency(self):
        a = self.a
        r = self.load(a.server, a.clients, f"latency-{a.server}-{a.clients}", duration=a.duration)
        with open(os.path.join(a.out, "latency.json"), "w") as f:
            json.dump(r, f, indent=1)
        print(render_latency(r))

    def smoke(self):
        a = self.a
        r = self.load(a.server, a.clients, f"smoke-{a.server}-{a.clients}", duration=a.duration, warmup=2)
        ok = (r["failed"] == 0 and r["disconnected"] == 0 and r["idle"] == 0 and (r.get("fast_fps_min") or 0) > 0
              and r["frames"] > 0)
        print(f"rtsp smoke ({a.server}, {a.clients} viewers, {r['window_s']} s): frames {r['frames']}, fps per viewer "
              f"min {r.get('fast_fps_min')} median {r.get('fast_fps_median')}, failed {r['failed']} disconnected "
              f"{r['disconnected']} idle {r['idle']}, {r.get('mean_frame_bytes')} B per access unit"
              + (f", problems {r['problems']}" if r.get("problems") else ""))
        if not ok:
            print("rtsp smoke: FAILED (a viewer got no frame, failed, or was disconnected)", file=sys.stderr)
            sys.exit(1)
        print("rtsp smoke: ok")


def fmt(v, places=2):
    return "-" if v is None else f"{v:.{places}f}"


def cpu_seconds(r):
    return None if r.get("server_cpu_pct") is None else r["server_cpu_pct"] / 100 * r["window_s"]


def render_compare(results, mine, ns):
    lines = ["| run | server | viewers | fps median / min / p1 | under 27 fps | failed / disc. / idle | server CPU % | "
             "CPU ms per delivered frame | B per AU | latency p50 / p99 ms | camload CPU % | load avg before |", "|---" * 12 + "|"]
    for r in results:
        lines.append(f"| {r['label']} | {r['server']} | {r['n']} | {fmt(r['fast_fps_median'], 1)} / {fmt(r['fast_fps_min'], 1)} / "
                     f"{fmt(r['fast_fps_p1'], 1)} | {r['fast_behind']} | {r['failed']} / {r['disconnected']} / {r['idle']} | "
                     f"{fmt(r['server_cpu_pct'], 1)} | {fmt(r['cpu_ms_per_frame'], 4)} | {fmt(r['mean_frame_bytes'], 0)} | "
                     f"{fmt(r['latency_p50_ms'], 0)} / {fmt(r['latency_p99_ms'], 0)} | "
                     f"{r['camload_cpu_pct']} | {r['loadavg_before']} |")
    lines += ["", "| viewers | " + mine + " ms/frame (median of rounds) | GStreamer ms/frame | ratio | target ≤ 0.5 |",
              "|---|---|---|---|---|"]
    per = {}
    for r in results:
        per.setdefault((r["server"], r["n"]), []).append(r)
    for n in ns:
        m = [r["cpu_ms_per_frame"] for r in per.get((mine, n), []) if r["cpu_ms_per_frame"] is not None]
        g = [r["cpu_ms_per_frame"] for r in per.get(("gst", n), []) if r["cpu_ms_per_frame"] is not None]
        if m and g:
            mm, gm = statistics.median(m), statistics.median(g)
            lines.append(f"| {n} | {mm:.4f} | {gm:.4f} | {mm / gm:.2f} | {'met' if mm / gm <= 0.5 else 'MISSED'} |")
    # Fan-out alone: the same server's N = 1 run of the same round (the pictures: test pattern, encode) subtracted
    # as a CPU rate, the rest divided by the frames delivered. Valid while both runs make the same pictures (the
    # same fps); a server starved at N makes fewer or queues them, then this is only indicative.
    base = {(r["label"].split("-")[0], r["server"]): r for r in results if r["n"] == 1 and "crashed" not in r["label"]}
    if base:
        lines += ["", "Fan-out CPU per delivered frame: (server CPU % at N − at N = 1, same round) × window / frames "
                  "delivered at N.", "", "| round | viewers | " + mine + " µs/frame | GStreamer µs/frame | ratio | "
                  + mine + " fps at N / at 1 | GStreamer fps at N / at 1 |", "|---|---|---|---|---|---|---|"]
        for rnd in sorted({r["label"].split("-")[0] for r in results}):
            for n in ns:
                if n == 1:
                    continue
                row = {}
                for kind in (mine, "gst"):
                    b = base.get((rnd, kind))
                    r = next((x for x in results if x["label"] == f"{rnd}-{kind}-{n}"), None)
                    if b and r and r["frames"] and r.get("server_cpu_pct") is not None and b.get("server_cpu_pct") is not None:
                        row[kind] = ((r["server_cpu_pct"] - b["server_cpu_pct"]) / 100 * r["window_s"] / r["frames"] * 1e6,
                                     f"{fmt(r['fast_fps_median'], 1)} / {fmt(b['fast_fps_median'], 1)}")
                if mine in row and "gst" in row:
                    lines.append(f"| {rnd} | {n} | {row[mine][0]:.1f} | {row['gst'][0]:.1f} | {row[mine][0] / row['gst'][0]:.2f} | "
                                 f"{row[mine][1]} | {row['gst'][1]} |")
    if False:
        lo, hi = min(ns), max(ns)
        lines += ["", f"Marginal CPU per delivered frame from {lo} to {hi} viewers (same round, (CPU{hi} − CPU{lo}) / "
                  f"(frames{hi} − frames{lo})): the per-picture costs (capture, encode) cancel; this is the fan-out alone.", "",
                  "| round | " + mine + " µs/frame | GStreamer µs/frame | ratio |", "|---|---|---|---|"]
        rounds = sorted({r["label"].split("-")[0] for r in results})
        for rnd in rounds:
            row = {}
            for kind in (mine, "gst"):
                a = next((r for r in results if r["label"] == f"{rnd}-{kind}-{lo}"), None)
                b = next((r for r in results if r["label"] == f"{rnd}-{kind}-{hi}"), None)
                if a and b and cpu_seconds(a) is not None and cpu_seconds(b) is not None and b["frames"] > a["frames"]:
                    row[kind] = (cpu_seconds(b) - cpu_seconds(a)) / (b["frames"] - a["frames"]) * 1e6
            if mine in row and "gst" in row:
                lines.append(f"| {rnd} | {row[mine]:.1f} | {row['gst']:.1f} | {row[mine] / row['gst']:.2f} |")
    return "\n".join(lines)


def render_latency(r):
    h264 = (r.get("state") or {}).get("h264") if isinstance(r.get("state"), dict) else None
    enc = ""
    if isinstance(h264, dict):
        p99 = h264.get("encode_p99_ms") or 0
        lat = r.get("latency_p99_ms")
        enc = (f"; /state h264: encoder {h264.get('encoder')}, encode p50 {h264.get('encode_p50_ms')} ms p99 {p99} ms, "
               f"bitrate {h264.get('bitrate')}, frames_in {h264.get('frames_in')} dropped {h264.get('frames_dropped')}, "
               f"keyframes {h264.get('keyframes')} (forced {h264.get('forced_keyframes')})")
        if p99 > 0 and lat is not None:
            enc += f"; target p99 ≤ encode p99 + 5 ms = {p99 + 5:.2f} ms: {'met' if lat <= p99 + 5 else 'MISSED'}"
        else:
            enc += "; /state reports no encode time (0): compare with bench/h264-encode.sh"
    mbit = r.get("payload_mbit_per_viewer")
    return (f"{r['server']}, {r['n']} viewers, {r['window_s']} s: capture-to-first-packet latency p50 {fmt(r['latency_p50_ms'])} ms "
            f"p99 {fmt(r['latency_p99_ms'])} ms; RTP payload {fmt(mbit, 3)} Mbit/s per viewer "
            f"({fmt(r.get('mean_frame_bytes'), 0)} B per access unit, fps median {fmt(r['fast_fps_median'], 1)}); "
            f"dropped {r['dropped']}, failed {r['failed']}; server CPU {fmt(r['server_cpu_pct'], 1)} %{enc}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["compare", "latency", "smoke"])
    ap.add_argument("--bin", required=True, help="directory with camd, camload (and rtsp-harness)")
    ap.add_argument("--server", default="camd", choices=["camd", "harness"], help="the server measured against GStreamer")
    ap.add_argument("--clients", default=None, help="compare: comma-separated N (100,500); latency: 4; smoke: 20")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-baseline", dest="baseline", action="store_false",
                    help="compare: skip the N = 1 runs (each server's cost of the pictures alone)")
    ap.add_argument("--duration", type=float, default=None, help="measured seconds (compare 10, latency 20, smoke 10)")
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--play-timeout", type=float, default=30,
                    help="longest wait after the connect ramp for every viewer to be playing before the warm-up")
    ap.add_argument("--connect-rate", type=float, default=200, help="viewers connected per second")
    ap.add_argument("--encoder", default="libx264", help="camd's h264_encoder")
    ap.add_argument("--port-base", type=int, default=18600)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    defaults = {"compare": ("100,500", 10), "latency": ("4", 20), "smoke": ("20", 10)}[a.mode]
    a.clients = a.clients or defaults[0]
    a.duration = a.duration or defaults[1]
    if a.mode != "compare":
        a.clients = int(a.clients)
    a.out = a.out or os.path.join(HERE, "out", f"rtsp-{a.mode}-{time.strftime('%Y%m%d-%H%M%S')}")
    bench = Bench(a)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    try:
        getattr(bench, a.mode)()
    finally:
        bench.procs.stop_all()
    print(f"(results in {a.out})", file=sys.stderr)


if __name__ == "__main__":
    main()
