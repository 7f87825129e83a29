#!/usr/bin/env python3
"""RTSP fan-out benchmark (issue 16): camd's RTSP server against GStreamer's, viewers from camload --protocol rtsp.

  rtsp_bench.py compare --bin DIR [--clients 100,500] [--rounds 2] [--duration 10] [--server camd|harness]
                        [--source pattern|h264]
      CPU per delivered frame: for each round and each N, a fresh camd then a fresh GStreamer RTSP server
      (bench/rtsp_gst_server.py, one shared media), each loaded by N RTSP-over-TCP viewers; runs interleaved.
  rtsp_bench.py latency --bin DIR [--clients 4] [--duration 20] [--server camd|harness] [--source pattern|h264]
      Capture-to-first-packet latency (RTCP SR NTP<->RTP mapping, same host, same clock), the payload bitrate
      one viewer receives, and camd's encode time from /state (an "h264" object, if camd exposes one).
  rtsp_bench.py smoke --bin DIR [--clients 20] [--duration 10] [--server camd|harness] [--source pattern|h264]
      A short CI check: every viewer got frames, none failed or was disconnected. Exit 1 otherwise.

--source pattern (the default): both servers encode the same kind of picture once with libx264 (ultrafast,
zerolatency, 2 Mbit/s, GOP 30, no B-frames) at 1280x720 30 fps: camd its built-in test pattern (scrolling bars,
drawn and JPEG-encoded by the capture thread every frame whatever the viewers are), GStreamer videotestsrc's SMPTE
bars scrolling at about the same speed.

--source h264: no H.264 encoding on either side; both serve the SAME pre-encoded stream, made once in the out dir
with ffmpeg (testsrc2 1280x720 30 fps, 120 s = 3600 access units, libx264 ultrafast zerolatency baseline, 2 Mbit/s
VBV, GOP 30, no B-frames, SPS/PPS before every IDR) as raw Annex-B (h264-720p30-120s.h264) and remuxed without
re-encoding into h264-720p30-120s.mp4 (checked: the .mp4 gives back the .h264 byte for byte). camd takes the .h264
from the fake camera (libFakeV4L2.so from --bin LD_PRELOADed, FAKE_V4L2_H264: one access unit per DQBUF at 30 fps,
looping) with format = "H264" and passes each unit through to RTSP; it still decodes each unit and JPEG-encodes the
picture for its JPEG viewers (per picture, whatever the viewers: the N = 1 runs hold it). GStreamer plays the .mp4
(filesrc ! qtdemux ! h264parse ! rtph264pay, paced by its sinks' clock; the media answers "not seekable", as a
camera, so a viewer's PLAY Range does not rewind the shared pipeline). The file ends after 120 s, so each run must
fit (checked). Needs qtdemux (gstreamer1.0-plugins-good) and h264parse (gstreamer1.0-plugins-bad).

Server CPU is utime+stime of the server process (/proc/PID/stat) over the measured window after every
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
# --source h264: the one pre-encoded stream both servers pass through. The fake camera holds at most 4096 access
# units (MAX_H264_UNITS in Tests/FakeV4L2/FakeV4L2.c); GStreamer's file source ends after SOURCE_SECONDS.
SOURCE_SECONDS = 120
FAKE_DEVICE = "/dev/video-fake"  # answered by libFakeV4L2.so; no file there, so no lock shared with other runs


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
            if self.a.source == "h264":
                # The camera's own H.264, passed through: no encoder settings apply.
                h264, _ = self.h264_source()
                # idle_after = 2: pictures pause (no decode, no JPEG) 2 s after the last viewer became H.264-only,
                # before the window (warm-up 3 s after every PLAY). The default is 10 s.
                source = f'source = "v4l2:{FAKE_DEVICE}"\nformat = "H264"\nidle_after = 2\n'
                encoder = ""
                preload = ["env", f"LD_PRELOAD={self.fake_v4l2()}", f"FAKE_V4L2_DEVICE={FAKE_DEVICE}", f"FAKE_V4L2_H264={h264}"]
            else:
                source = 'source = "testpattern"\n'
                encoder = f'h264_encoder = "{self.a.encoder}"\nh264_bitrate = 2000000\nh264_gop = 30\n'
                preload = []
            with open(cfg, "w") as f:
                f.write(f'''# Written by bench/rtsp_bench.py.
listen = ["127.0.0.1:{base}"]
http_listen = ["127.0.0.1:{base + 1}"]
rtsp_listen = ["127.0.0.1:{base + 2}"]
{source}width = 1280
height = 720
fps = {FPS}
{encoder}max_clients = 2000
max_clients_per_ip = 0
stats_interval = 0
log_level = "warning"
''')
            # env execs camd: still the only child of timeout (server_pid).
            p = self.procs.start(["timeout", "-s", "TERM", str(int(bound))] + preload + [os.path.join(self.a.bin, "camd"), "--config", cfg],
                                 stdout=log, stderr=subprocess.STDOUT)
            wait_port(base + 2, p, 15, "camd (rtsp_listen)")
            return p, base + 2, base + 1
        if kind == "gst":
            extra = []
            if self.a.source == "h264":
                _, mp4 = self.h264_source()
                extra = ["--not-seekable", "--launch", f"( filesrc location={mp4} ! qtdemux ! h264parse "
                         "! rtph264pay name=pay0 pt=96 config-interval=-1 )"]
            p = self.procs.start(["timeout", "-s", "TERM", str(int(bound)), GST_PYTHON, os.path.join(HERE, "rtsp_gst_server.py"),
                                  str(base + 2), "--seconds", str(int(bound))] + extra, stdout=log, stderr=subprocess.STDOUT)
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

    def fake_v4l2(self):
        path = os.path.join(self.a.bin, "libFakeV4L2.so")
        if not os.path.exists(path):
            raise SystemExit(f"--source h264: no {path} (swift build -c release --product FakeV4L2)")
        return path

    def h264_source(self):
        """--source h264: the one stream both servers pass through, made once per out dir: raw Annex-B for the fake
        camera and the same bytes remuxed (-c copy) into MP4 for GStreamer. Returns (h264 path, mp4 path)."""
        h264 = os.path.join(self.a.out, "h264-720p30-120s.h264")
        mp4 = os.path.join(self.a.out, "h264-720p30-120s.mp4")
        if os.path.exists(h264) and os.path.exists(mp4):
            return h264, mp4
        frames = SOURCE_SECONDS * FPS
        print(f"making {h264} ({frames} frames) and its .mp4 remux", file=sys.stderr, flush=True)
        # -threads 1: one slice per picture. repeat-headers=1: SPS/PPS before every IDR, in-band in both files (a new
        # viewer of either server can start at any IDR from the stream's own parameter sets).
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={FPS}",
                        "-frames:v", str(frames), "-c:v", "libx264", "-threads", "1", "-preset", "ultrafast", "-tune", "zerolatency",
                        "-bf", "0", "-g", "30", "-b:v", "2M", "-maxrate", "2M", "-bufsize", "2M", "-profile:v", "baseline",
                        "-x264-params", "repeat-headers=1", "-f", "h264", h264 + ".tmp"], check=True, timeout=600)
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "h264", "-framerate", str(FPS), "-i", h264 + ".tmp",
                        "-c", "copy", "-movflags", "+faststart", "-f", "mp4", mp4 + ".tmp"], check=True, timeout=120)
        # Remuxed, not re-encoded: the MP4's samples back in Annex-B are the .h264, byte for byte.
        back = os.path.join(self.a.out, "h264-from-mp4.tmp")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", mp4 + ".tmp", "-c", "copy", "-bsf:v", "h264_mp4toannexb",
                        "-f", "h264", back], check=True, timeout=120)
        with open(h264 + ".tmp", "rb") as f1, open(back, "rb") as f2:
            same = f1.read() == f2.read()
        os.unlink(back)
        if not same:
            raise SystemExit(f"{mp4}.tmp does not hold the same H.264 as {h264}.tmp")
        probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                           "stream=codec_name,width,height,nb_frames,r_frame_rate", "-of", "json", mp4 + ".tmp"],
                                          check=True, capture_output=True, text=True, timeout=60).stdout)["streams"][0]
        if (probe.get("codec_name"), probe.get("width"), probe.get("height"), int(probe.get("nb_frames", 0)), probe.get("r_frame_rate")) \
                != ("h264", 1280, 720, frames, f"{FPS}/1") or frames >= 4096:
            raise SystemExit(f"{mp4}.tmp: unexpected stream {probe} (want h264 1280x720 {FPS}/1, {frames} < 4096 frames)")
        os.rename(h264 + ".tmp", h264)
        os.rename(mp4 + ".tmp", mp4)
        return h264, mp4

    def check_source(self):
        """--source h264: each server, started alone, gives ffprobe h264 1280x720 at rtsp://127.0.0.1:PORT/stream."""
        for kind in (self.a.server, "gst"):
            p, port, _ = self.start_server(kind, f"ffprobe-{kind}", 60)
            try:
                r = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0", "-show_entries",
                                    "stream=codec_name,width,height", "-of", "csv=p=0", f"rtsp://127.0.0.1:{port}/stream"],
                                   capture_output=True, text=True, timeout=30)
            except subprocess.TimeoutExpired:
                raise SystemExit(f"ffprobe of {kind}'s rtsp://127.0.0.1:{port}/stream: no answer in 30 s")
            finally:
                self.procs.stop(p)
            got = r.stdout.strip()
            print(f"ffprobe {kind} rtsp://127.0.0.1:{port}/stream: {got or r.stderr.strip()[-200:]}", file=sys.stderr, flush=True)
            with open(os.path.join(self.a.out, f"ffprobe-{kind}.txt"), "w") as f:
                f.write(r.stdout + r.stderr)
            if got != "h264,1280,720":
                raise SystemExit(f"{kind}: ffprobe saw {got!r}, not h264,1280,720")
            time.sleep(1)

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
        if a.source == "h264" and ramp + a.play_timeout + warmup + duration > SOURCE_SECONDS - 5:
            # GStreamer's media starts at the file's first frame with the first viewer and ends with the file.
            raise SystemExit(f"--source h264: ramp {ramp:g} s + --play-timeout {a.play_timeout:g} + --warmup {warmup:g} + "
                             f"--duration {duration:g} s may outlast the {SOURCE_SECONDS} s file: shorten them")
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
        if a.source == "h264":
            self.check_source()
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
        print(render_compare(results, a.server, ns, a.source))

    def latency(self):
        a = self.a
        r = self.load(a.server, a.clients, f"latency-{a.server}-{a.clients}", duration=a.duration)
        with open(os.path.join(a.out, "latency.json"), "w") as f:
            json.dump(r, f, indent=1)
        print(f"source {a.source}: " + render_latency(r))

    def smoke(self):
        a = self.a
        r = self.load(a.server, a.clients, f"smoke-{a.server}-{a.clients}", duration=a.duration, warmup=2)
        ok = (r["failed"] == 0 and r["disconnected"] == 0 and r["idle"] == 0 and (r.get("fast_fps_min") or 0) > 0
              and r["frames"] > 0)
        print(f"rtsp smoke ({a.server}, source {a.source}, {a.clients} viewers, {r['window_s']} s): frames {r['frames']}, fps per viewer "
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


SOURCE_LINES = {
    "pattern": "Source: pattern — each server encodes its own 1280x720 30 fps test pattern once with libx264 (ultrafast, "
               "zerolatency, 2 Mbit/s, GOP 30): camd its scrolling bars (also JPEG-encoded every frame), GStreamer "
               "videotestsrc's SMPTE bars.",
    "h264": "Source: h264 — the SAME pre-encoded H.264 (ffmpeg testsrc2 1280x720 30 fps, libx264 baseline 2 Mbit/s, GOP 30, "
            "120 s) passed through by both, no H.264 encoding on either side: camd from the fake camera (FAKE_V4L2_H264, "
            "format = \"H264\", idle_after = 2: with only RTSP /stream viewers for 2 s it stops decoding the units and "
            "making JPEGs — \"pictures paused\", checked per run below), GStreamer from its .mp4 remux "
            "(filesrc ! qtdemux ! h264parse ! rtph264pay, not seekable).",
}


def render_compare(results, mine, ns, source="pattern"):
    lines = [SOURCE_LINES[source], "", "| run | server | viewers | fps median / min / p1 | under 27 fps | failed / disc. / idle | server CPU % | "
             "CPU ms per delivered frame | B per AU | latency p50 / p99 ms | camload CPU % | load avg before |", "|---" * 12 + "|"]
    for r in results:
        lines.append(f"| {r['label']} | {r['server']} | {r['n']} | {fmt(r['fast_fps_median'], 1)} / {fmt(r['fast_fps_min'], 1)} / "
                     f"{fmt(r['fast_fps_p1'], 1)} | {r['fast_behind']} | {r['failed']} / {r['disconnected']} / {r['idle']} | "
                     f"{fmt(r['server_cpu_pct'], 1)} | {fmt(r['cpu_ms_per_frame'], 4)} | {fmt(r['mean_frame_bytes'], 0)} | "
                     f"{fmt(r['latency_p50_ms'], 0)} / {fmt(r['latency_p99_ms'], 0)} | "
                     f"{r['camload_cpu_pct']} | {r['loadavg_before']} |")
    if source == "h264":
        paused = [f"{r['label']}: {((r.get('state') or {}).get('pictures_paused'))}" for r in results if r["server"] == "camd"]
        lines += ["", "camd's /state pictures_paused in the run's last reading (True: no decode, no JPEG): " + ", ".join(paused)]
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
            ratio = mm / gm if gm > 0 else None
            lines.append(f"| {n} | {mm:.4f} | {gm:.4f} | {fmt(ratio)} | "
                         f"{'-' if ratio is None else 'met' if ratio <= 0.5 else 'MISSED'} |")
    # Fan-out alone: the same server's N = 1 run of the same round (the pictures: test pattern, encode; with --source
    # h264 camd's capture, decode and JPEG encode, GStreamer's file read, demux and parse) subtracted
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
                    # A few viewers can cost no CPU tick more than one (ticks are 10 ms): no ratio then.
                    ratio = row[mine][0] / row["gst"][0] if row["gst"][0] > 0 else None
                    lines.append(f"| {rnd} | {n} | {row[mine][0]:.1f} | {row['gst'][0]:.1f} | {fmt(ratio)} | "
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
    ap.add_argument("--bin", required=True, help="directory with camd, camload (and rtsp-harness; libFakeV4L2.so for --source h264)")
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
    ap.add_argument("--encoder", default="libx264", help="camd's h264_encoder (--source pattern)")
    ap.add_argument("--source", default="pattern", choices=["pattern", "h264"],
                    help="pattern: each server encodes its own test pattern (libx264); h264: both pass the same pre-encoded "
                         "H.264 through (camd from the fake camera, libFakeV4L2.so in --bin; GStreamer from an .mp4)")
    ap.add_argument("--port-base", type=int, default=18600)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    defaults = {"compare": ("100,500", 10), "latency": ("4", 20), "smoke": ("20", 10)}[a.mode]
    a.clients = a.clients or defaults[0]
    a.duration = a.duration or defaults[1]
    if a.mode != "compare":
        a.clients = int(a.clients)
    if a.source == "h264" and a.server != "camd":
        ap.error("--source h264 needs --server camd (the harness serves its own file)")
    tag = "" if a.source == "pattern" else f"-{a.source}"
    a.out = a.out or os.path.join(HERE, "out", f"rtsp-{a.mode}{tag}-{time.strftime('%Y%m%d-%H%M%S')}")
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
