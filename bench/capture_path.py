#!/usr/bin/env python3
"""The capture path, measured: the real camd on the fake camera (LD_PRELOAD) at WxH and FPS in a raw format, with
1 and 2 encoder workers (encode_workers). One native viewer reads every frame. Per case: frames delivered to the
viewer per second, frames published per second, encoder input drops, capture-to-publish latency p50/p99 (camd's own
account in /state, over the last 512 frames: the driver's timestamp to the ring), capture-to-viewer latency p50/p99
(the viewer's receive time minus the frame's capture timestamp), and camd's CPU (utime+stime, % of one core).
Run by bench/capture-path.sh, which builds and passes --bin.

--hold measures instead how long camd holds each driver buffer (FAKE_V4L2_HOLD_LOG: DQBUF to QBUF) at 720p YUYV
30 fps, for this build and for any --before binary (e.g. a build from before the requeue-before-encode change).
"""
import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request

HEADER = struct.Struct('>4sBBHQQHHI')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def quantile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-fraction * len(ordered) // 1)) - 1))]


class Camd:
    def __init__(self, binary, args, env, log):
        self.native, self.http = free_port(), free_port()
        self.log_path = log
        self.log = open(log, 'w')
        self.proc = subprocess.Popen([binary, '--listen', f'127.0.0.1:{self.native}',
                                      '--http-listen', f'127.0.0.1:{self.http}', '--rtsp-listen', 'off', '--control-socket', '',
                                      '--stats-interval', '0', '--idle-after', '0', '--log-level', 'notice'] + args,
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def state(self):
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{self.http}/state', timeout=2) as r:
                return json.load(r)
        except OSError:
            return None

    def wait(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f'camd exited ({self.proc.returncode}): {open(self.log_path).read().strip()[-300:]}'
            if condition():
                return None
            time.sleep(0.05)
        return f'timed out: {what}'

    def cpu_seconds(self):
        with open(f'/proc/{self.proc.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Viewer(threading.Thread):
    """Reads every frame on the native protocol; records (receive time, capture timestamp, sequence)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.frames = []
        self.counting = False
        self.stop_flag = False
        self.error = None

    def recv_exact(self, n, buf):
        view = memoryview(buf)[:n]
        got = 0
        while got < n:
            k = self.sock.recv_into(view[got:], n - got)
            if k == 0:
                raise EOFError('camd closed the connection')
            got += k

    def run(self):
        header = bytearray(HEADER.size)
        payload = bytearray(8 << 20)
        try:
            while not self.stop_flag:
                self.recv_exact(HEADER.size, header)
                magic, _, _, flags, seq, ts, w, h, length = HEADER.unpack(header)
                if magic != b'CAMF' or length > len(payload):
                    raise ValueError(f'bad frame header {bytes(header)!r}')
                self.recv_exact(length, payload)
                if self.counting:
                    self.frames.append((time.time_ns(), ts, seq, flags))
        except (OSError, EOFError, ValueError) as e:
            if not self.stop_flag:
                self.error = str(e)

    def close(self):
        self.stop_flag = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def measure(binary, env, fmt, width, height, fps, workers, seconds, warmup, log):
    args = ['--source', 'v4l2:/dev/video-fake', '--format', fmt, '--width', str(width), '--height', str(height),
            '--fps', str(fps), '--encode-workers', str(workers)]
    camd = Camd(binary, args, env, log)
    try:
        problem = camd.wait(lambda: (camd.state() or {}).get('frames_captured', 0) > fps, 30, 'no frames')
        if problem:
            return {'error': problem}
        negotiated = (camd.state() or {}).get('source_format', '')
        viewer = Viewer(camd.native)
        viewer.start()
        time.sleep(warmup)  # settling before the measured window: a benchmark, not a test
        s0, c0, t0 = camd.state(), camd.cpu_seconds(), time.monotonic()
        viewer.counting = True
        time.sleep(seconds)  # the measured window itself
        viewer.counting = False
        s1, c1, t1 = camd.state(), camd.cpu_seconds(), time.monotonic()
        viewer.close()
        viewer.join(5)
        if viewer.error:
            return {'error': f'viewer: {viewer.error}'}
        elapsed = t1 - t0
        frames = viewer.frames
        e2e = [(rx - ts) / 1e6 for rx, ts, _, flags in frames if not flags & 1]
        seqs = [seq for _, _, seq, _ in frames]
        return {
            'format': fmt, 'workers': workers, 'negotiated': negotiated,
            'delivered_fps': len(frames) / elapsed,
            'published_fps': (s1['frames_captured'] - s0['frames_captured']) / elapsed,
            'encoder_dropped_per_s': (s1['frames_encoder_dropped'] - s0['frames_encoder_dropped']) / elapsed,
            'in_order': all(a < b for a, b in zip(seqs, seqs[1:])),
            'capture_to_publish_p50_ms': s1.get('capture_latency_p50_ms'),
            'capture_to_publish_p99_ms': s1.get('capture_latency_p99_ms'),
            'capture_to_viewer_p50_ms': quantile(e2e, 0.5), 'capture_to_viewer_p99_ms': quantile(e2e, 0.99),
            'cpu_percent': (c1 - c0) / elapsed * 100,
        }
    finally:
        camd.stop()


def hold(binary, env, seconds, log, extra):
    """Each buffer's DQBUF-to-QBUF time in µs at 1280x720 YUYV 30 fps (with one viewer, so every frame is encoded)."""
    hold_log = tempfile.NamedTemporaryFile('w', delete=False, suffix='.hold')
    hold_log.close()
    env = dict(env, FAKE_V4L2_HOLD_LOG=hold_log.name, FAKE_V4L2_MODE='1280x720@30')
    camd = Camd(binary, ['--source', 'v4l2:/dev/video-fake', '--format', 'yuyv', '--width', '1280', '--height', '720',
                         '--fps', '30'] + extra, env, log)
    try:
        problem = camd.wait(lambda: (camd.state() or {}).get('frames_captured', 0) > 30, 30, 'no frames')
        if problem:
            return {'error': problem}
        viewer = Viewer(camd.native)
        viewer.start()
        time.sleep(seconds)  # the measured window
        viewer.close()
        viewer.join(5)
    finally:
        camd.stop()  # the fake writes the hold times when camd closes the device
    with open(hold_log.name) as f:
        held = [int(line.split()[1]) for line in f if line.startswith('HOLD ')]
    os.unlink(hold_log.name)
    # The first second (start-up, first allocations) is left out.
    held = held[30:]
    return {'buffers': len(held), 'p50_us': quantile(held, 0.5), 'p99_us': quantile(held, 0.99),
            'mean_us': statistics.mean(held) if held else None}


def fmt_ms(v):
    return '–' if v is None else f'{v:.1f}'


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--bin', required=True, help='folder with camd and libFakeV4L2.so')
    p.add_argument('--formats', default='yuyv,uyvy', help='raw formats, comma-separated (camd --format values)')
    p.add_argument('--workers', default='1,2')
    p.add_argument('--size', default='1920x1080')
    p.add_argument('--fps', type=int, default=60)
    p.add_argument('--seconds', type=float, default=10, help='each measured window')
    p.add_argument('--warmup', type=float, default=3)
    p.add_argument('--hold', action='store_true', help='measure buffer hold times instead (720p YUYV 30 fps)')
    p.add_argument('--before', help='with --hold: another camd binary to measure the same way (e.g. main at 306c59d)')
    p.add_argument('--out', required=True)
    a = p.parse_args()
    camd = os.path.join(a.bin, 'camd')
    fake = os.path.join(a.bin, 'libFakeV4L2.so')
    control = tempfile.NamedTemporaryFile('w', delete=False, suffix='.control')
    control.write('ok\n')
    control.close()
    width, height = (int(x) for x in a.size.split('x'))
    base_env = dict(os.environ, LD_PRELOAD=fake, FAKE_V4L2_DEVICE='/dev/video-fake', FAKE_V4L2_CONTROL=control.name,
                    FAKE_V4L2_MODE=f'{width}x{height}@{a.fps}')
    if a.hold:
        print('| camd | buffers | hold p50 | hold p99 | mean |')
        print('|---|---|---|---|---|')
        runs = [('this build', camd, ['--encode-workers', '1'])]
        if a.before:
            runs.append((f'before ({os.path.basename(a.before)})', a.before, []))
        ok = True
        for name, binary, extra in runs:
            r = hold(binary, dict(base_env, FAKE_V4L2_FORMATS='YUYV'), a.seconds, os.path.join(a.out, 'hold.log'), extra)
            if 'error' in r or not r['buffers']:
                print(f'| {name} | {r.get("error", "no buffers")} | | | |')
                ok = False
                continue
            print(f'| {name} | {r["buffers"]} | {r["p50_us"] / 1000:.2f} ms | {r["p99_us"] / 1000:.2f} ms | {r["mean_us"] / 1000:.2f} ms |',
                  flush=True)
        raise SystemExit(0 if ok else 1)
    print(f'{width}x{height} at {a.fps} fps, {a.seconds:g} s windows after {a.warmup:g} s, one native viewer; '
          f'{os.cpu_count()} CPUs')
    print()
    print('| format | workers | delivered fps | published fps | encoder drops/s | capture→publish p50 / p99 ms '
          '| capture→viewer p50 / p99 ms | camd CPU | in order |')
    print('|---|---|---|---|---|---|---|---|---|')
    results, failed = [], False
    for fmt in a.formats.split(','):
        env = dict(base_env, FAKE_V4L2_FORMATS=fmt.upper())
        for workers in (int(w) for w in a.workers.split(',')):
            r = measure(camd, env, fmt, width, height, a.fps, workers, a.seconds, a.warmup,
                        os.path.join(a.out, f'{fmt}-{workers}.log'))
            results.append(r)
            if 'error' in r:
                print(f'| {fmt} | {workers} | {r["error"]} | | | | | | |', flush=True)
                failed = True
                continue
            print(f'| {fmt} | {workers} | {r["delivered_fps"]:.1f} | {r["published_fps"]:.1f} | {r["encoder_dropped_per_s"]:.1f} '
                  f'| {fmt_ms(r["capture_to_publish_p50_ms"])} / {fmt_ms(r["capture_to_publish_p99_ms"])} '
                  f'| {fmt_ms(r["capture_to_viewer_p50_ms"])} / {fmt_ms(r["capture_to_viewer_p99_ms"])} '
                  f'| {r["cpu_percent"]:.0f} % | {"yes" if r["in_order"] else "NO"} |', flush=True)
            failed = failed or not r['in_order'] or r['delivered_fps'] <= 0
    with open(os.path.join(a.out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    os.unlink(control.name)
    raise SystemExit(1 if failed else 0)


if __name__ == '__main__':
    main()
