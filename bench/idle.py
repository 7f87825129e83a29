#!/usr/bin/env python3
"""Idle mode, measured: camd's CPU with nobody watching (idle_after off, then on) and the time from a viewer's
connect to its first live frame, for every kind of source. Run by bench/idle.sh (which builds and passes --bin).

For each case: camd starts on 127.0.0.1 with free ports; CPU is utime+stime from /proc/PID/stat over --seconds,
as % of one core. Latency: the viewer connects (native protocol) while the capture has been idle for over a
second, and the clock stops when the first frame's last byte has arrived; the frame must be captured after the
connect (its header timestamp) and be the next in sequence after the idle one (nothing was made while idle).
"""
import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

HEADER = struct.Struct('>4sBBHQQHHI')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Camd:
    def __init__(self, binary, args, env, log):
        self.native, self.http = free_port(), free_port()
        self.log = open(log, 'w')
        self.proc = subprocess.Popen([binary, '--listen', f'127.0.0.1:{self.native}',
                                      '--http-listen', f'127.0.0.1:{self.http}', '--rtsp-listen', 'off', '--control-socket', '',
                                      '--stats-interval', '0'] + args,
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait(lambda: self.state() is not None, 20, 'camd did not answer /state')

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
                raise SystemExit(f'camd exited ({self.proc.returncode}): {what}')
            if condition():
                return
            time.sleep(0.05)
        raise SystemExit(f'timed out: {what}')

    def cpu_seconds(self):
        with open(f'/proc/{self.proc.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def cpu_percent(self, seconds):
        c0, t0 = self.cpu_seconds(), time.monotonic()
        time.sleep(seconds)  # the measured window itself: a benchmark, not a test
        return (self.cpu_seconds() - c0) / (time.monotonic() - t0) * 100

    def idle_state(self, at_least):
        s = {}

        def idle_long_enough():
            nonlocal s
            s = self.state() or {}
            return s.get('idle') is True and (s.get('idle_seconds') or 0) >= at_least
        self.wait(idle_long_enough, 30, 'capture did not go idle')
        return s

    def first_frame(self):
        """Connect, read one frame; returns (ms to its last byte, header)."""
        connected_ns = time.time_ns()
        t0 = time.monotonic()
        with socket.create_connection(('127.0.0.1', self.native), timeout=10) as s:
            buf = b''
            while len(buf) < HEADER.size:
                chunk = s.recv(65536)
                if not chunk:
                    raise SystemExit('closed before the first frame')
                buf += chunk
            magic, _, _, _, seq, ts, w, h, length = HEADER.unpack(buf[:HEADER.size])
            need = HEADER.size + length
            while len(buf) < need:
                chunk = s.recv(need - len(buf))
                if not chunk:
                    raise SystemExit('closed within the first frame')
                buf += chunk
            elapsed = (time.monotonic() - t0) * 1000
        return elapsed, {'sequence': seq, 'timestamp_ns': ts, 'connected_ns': connected_ns, 'size': f'{w}x{h}'}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--bin', required=True, help='folder with camd and libFakeV4L2.so (release)')
    p.add_argument('--data', required=True, help='folder of .jpg frames for file: and the MJPEG camera')
    p.add_argument('--seconds', type=float, default=10, help='each CPU window')
    p.add_argument('--tries', type=int, default=5, help='connects per latency measurement')
    p.add_argument('--out', required=True)
    p.add_argument('--camera', help='a real V4L2 device (e.g. vivid\'s /dev/video0 in tests/vm): only its cases, no fake')
    a = p.parse_args()
    camd = os.path.join(a.bin, 'camd')
    fake = os.path.join(a.bin, 'libFakeV4L2.so')
    jpeg = os.path.join(a.data, sorted(f for f in os.listdir(a.data) if f.endswith('.jpg'))[0])
    control = tempfile.NamedTemporaryFile('w', delete=False, suffix='.control')
    control.write('ok\n')
    control.close()
    camera_env = dict(os.environ, LD_PRELOAD=fake, FAKE_V4L2_DEVICE='/dev/video-fake',
                      FAKE_V4L2_CONTROL=control.name, FAKE_V4L2_JPEG=jpeg)
    cases = [
        ('testpattern 1280x720 30 fps', ['--source', 'testpattern', '--width', '1280', '--height', '720', '--fps', '30'], None, 30),
        ('file: MJPEG replay 1280x720 30 fps', ['--source', f'file:{a.data}', '--fps', '30'], None, 30),
        ('camera MJPEG 1280x720 30 fps, idle_camera=keep', ['--source', 'v4l2:/dev/video-fake', '--format', 'mjpeg'], camera_env, 30),
        ('camera YUYV 640x480 30 fps, idle_camera=keep', ['--source', 'v4l2:/dev/video-fake', '--format', 'yuyv'], camera_env, 30),
        ('camera MJPEG 1280x720 30 fps, idle_camera=stop', ['--source', 'v4l2:/dev/video-fake', '--format', 'mjpeg', '--idle-camera', 'stop'], camera_env, 30),
        ('camera YUYV 640x480 30 fps, idle_camera=stop', ['--source', 'v4l2:/dev/video-fake', '--format', 'yuyv', '--idle-camera', 'stop'], camera_env, 30),
    ]
    if a.camera:
        # A real driver: the kernel makes the frames (vivid's thread, a USB controller), so camd's CPU is camd's own.
        cases = [(f'{a.camera} {fmt} 640x480 25 fps, idle_camera={mode}',
                  ['--source', f'v4l2:{a.camera}', '--format', fmt.lower(), '--width', '640', '--height', '480', '--fps', '25']
                  + (['--idle-camera', 'stop'] if mode == 'stop' else []), None, 25)
                 for fmt in ['YUYV'] for mode in ['keep', 'stop']]
    rows = []
    for name, args, env, fps in cases:
        print(f'==> {name}', flush=True)
        log = os.path.join(a.out, name.split(',')[0].replace(' ', '_').replace(':', '') + ('-stop' if 'stop' in name else '') + '.log')
        busy = Camd(camd, args + ['--idle-after', '0'], env, log + '.busy')
        busy.wait(lambda: (busy.state() or {}).get('frames_captured', 0) > fps, 20, 'no frames')
        busy_cpu = busy.cpu_percent(a.seconds)
        busy.stop()
        c = Camd(camd, args + ['--idle-after', '1'], env, log)
        c.idle_state(1.0)
        idle_cpu = c.cpu_percent(a.seconds)
        latencies, waits = [], []
        for _ in range(a.tries):
            before = c.idle_state(1.0)
            ms, frame = c.first_frame()
            if frame['sequence'] != before['sequence'] + 1 or frame['timestamp_ns'] < frame['connected_ns']:
                raise SystemExit(f'{name}: the first frame was not live: {frame}, idle state {before}')
            latencies.append(ms)
            waits.append((frame['timestamp_ns'] - frame['connected_ns']) / 1e6)
        c.stop()
        row = {'case': name, 'cpu_no_viewer_idle_off_pct': round(busy_cpu, 2), 'cpu_idle_pct': round(idle_cpu, 3),
               'first_frame_ms_median': round(statistics.median(latencies), 1), 'first_frame_ms_max': round(max(latencies), 1),
               'capture_after_connect_ms_median': round(statistics.median(waits), 1),
               'capture_after_connect_ms_max': round(max(waits), 1),
               'frame_interval_ms': round(1000 / fps, 1)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    os.unlink(control.name)
    with open(os.path.join(a.out, 'idle.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    print()
    print('| source | CPU, no viewer, idle off | CPU idle | connect → capture of the first live frame | '
          'connect → its last byte received | frame interval |')
    print('|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['case']} | {r['cpu_no_viewer_idle_off_pct']} % | {r['cpu_idle_pct']} % | "
              f"{r['capture_after_connect_ms_median']} / {r['capture_after_connect_ms_max']} ms | "
              f"{r['first_frame_ms_median']} / {r['first_frame_ms_max']} ms | {r['frame_interval_ms']} ms |")
    print(f'(CPU as % of one core over {a.seconds:g} s windows; latencies median / max of {a.tries} connects)')


if __name__ == '__main__':
    sys.exit(main())
