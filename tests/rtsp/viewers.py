#!/usr/bin/env python3
"""Several real ffmpeg RTSP viewers at once, measured over one common wall-clock window (scripts/rtsp-test.sh,
the shaped-viewer check).

    viewers.py --warmup S --window W [--state URL] NAME=URL [NAME=@NS@URL ...]

A viewer written NAME=@NS@URL runs inside network namespace NS (ip netns exec). Each viewer is
    ffmpeg -loglevel level+warning -rtsp_transport tcp -i URL
           -map 0:v -f framecrc -flush_packets 1 pipe:1          (every frame decoded, one line each, as it comes)
           -map 0:v -c:v copy -f framecrc -flush_packets 1 FILE  (every H.264 access unit received: its bytes)
The helper stamps each decoded frame's arrival (CLOCK_MONOTONIC), waits `warmup` seconds after starting all
viewers, counts frames that arrive in the next `window` seconds, then stops them (SIGINT, then SIGKILL).
Prints one JSON object: per viewer frames in the window, fps, first/last arrival offsets, encoded bits per
second over the window, distinct seconds of the window in which frames arrived, error and warning lines
(ffmpeg's own level tag: "[error]"/"[fatal]" and "corrupt decoded frame" count as errors, other
"[warning]" lines are only listed), decoded frame size, exit status.
"""
import json
import os
import urllib.request
import signal
import subprocess
import sys
import tempfile
import threading
import time


def main():
    args = sys.argv[1:]
    warmup, window, state_url = 3.0, 10.0, None
    viewers = []
    while args:
        a = args.pop(0)
        if a == '--warmup':
            warmup = float(args.pop(0))
        elif a == '--window':
            window = float(args.pop(0))
        elif a == '--state':
            state_url = args.pop(0)
        else:
            name, _, rest = a.partition('=')
            ns = None
            if rest.startswith('@'):
                ns, _, rest = rest[1:].partition('@')
            viewers.append((name, ns, rest))
    tmp = tempfile.mkdtemp(prefix='camd-rtsp-viewers.')
    procs = []
    start = time.monotonic()
    for name, ns, url in viewers:
        copy = os.path.join(tmp, f'{name}.copy')
        argv = ['ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'level+warning', '-rtsp_transport', 'tcp',
                '-i', url,
                '-map', '0:v', '-f', 'framecrc', '-flush_packets', '1', 'pipe:1',
                '-map', '0:v', '-c:v', 'copy', '-f', 'framecrc', '-flush_packets', '1', '-y', copy]
        if ns:
            argv = ['ip', 'netns', 'exec', ns] + argv
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        rec = {'name': name, 'ns': ns, 'proc': p, 'copy': copy, 'arrivals': [], 'sizes': set(), 'stderr': []}

        def read_out(rec=rec):
            for line in rec['proc'].stdout:
                if line.startswith('#') or not line.strip():
                    continue
                rec['arrivals'].append(time.monotonic())
                parts = [x.strip() for x in line.split(',')]
                if len(parts) >= 5:
                    rec['sizes'].add(parts[4])

        def read_err(rec=rec):
            for line in rec['proc'].stderr:
                rec['stderr'].append(line.rstrip('\n'))

        rec['threads'] = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
        for t in rec['threads']:
            t.start()
        procs.append(rec)
    t0 = start + warmup
    t1 = t0 + window
    # With --state: camd's /state polled through the run (the most RTSP viewers it counted) and its encoder's
    # h264.units_out read at both ends of the window (the frame rate every viewer could have had).
    samples = []
    while time.monotonic() < t1:
        if state_url:
            try:
                with urllib.request.urlopen(state_url, timeout=1) as r:
                    st = json.load(r)
                samples.append((time.monotonic(), st.get('viewers_rtsp', 0), (st.get('h264') or {}).get('units_out'),
                                st.get('fps')))
            except (OSError, ValueError):
                pass
        time.sleep(0.25)
    # The copy files are read while the viewers still run; then they are stopped.
    for rec in procs:
        rec['proc'].send_signal(signal.SIGINT)
    for rec in procs:
        try:
            rec['proc'].wait(timeout=5)
        except subprocess.TimeoutExpired:
            rec['proc'].kill()
            rec['proc'].wait()
        for t in rec['threads']:
            t.join(timeout=2)
    result = {'warmup': warmup, 'window': window, 'viewers': {}}
    if state_url:
        result['state_viewers_rtsp_max'] = max((v for _, v, _, _ in samples), default=0)
        inwin = [(t, u) for t, _, u, _ in samples if u is not None and t >= t0]
        if len(inwin) >= 2 and inwin[-1][0] > inwin[0][0]:
            result['encoder_fps'] = round((inwin[-1][1] - inwin[0][1]) / (inwin[-1][0] - inwin[0][0]), 2)
        # /state's fps: the rate frames are published at (what the encoder is fed), the window's mean.
        fps = [f for t, _, _, f in samples if f is not None and t >= t0]
        if fps:
            result['published_fps'] = round(sum(fps) / len(fps), 2)
    for rec in procs:
        inside = [a for a in rec['arrivals'] if t0 <= a < t1]
        seconds = sorted({int(a - t0) for a in inside})
        # Encoded bytes: the copy output's packet sizes. Its lines carry no arrival time, so the window's share is
        # taken as the packets whose stream time falls in the span of all packets, scaled to the window: the
        # whole run's bytes over the whole run's stream duration.
        enc_bytes, pts = 0, []
        try:
            with open(rec['copy']) as f:
                tb = 90000
                for line in f:
                    if line.startswith('#tb 0:'):
                        num, den = line.split(':', 1)[1].strip().split('/')
                        tb = int(den) / int(num)
                        continue
                    if line.startswith('#') or not line.strip():
                        continue
                    parts = [x.strip() for x in line.split(',')]
                    enc_bytes += int(parts[4])
                    pts.append(int(parts[2]) / tb)
        except (OSError, ValueError, IndexError):
            pass
        span = (max(pts) - min(pts)) if len(pts) > 1 else 0
        # Errors: ffmpeg's [error]/[fatal] lines, and its "corrupt decoded frame" warning (the decoder concealed a
        # damaged or unreferenced picture: what a viewer would see as a smeared frame). Other warnings are listed
        # but not judged (the copy output's "Timestamps are unset" for the packet before the first keyframe).
        errors = [l for l in rec['stderr'] if '[error]' in l or '[fatal]' in l or 'corrupt' in l.lower()]
        warnings = [l for l in rec['stderr'] if '[warning]' in l and l not in errors]
        result['viewers'][rec['name']] = {
            'frames': len(inside),
            'fps': round(len(inside) / window, 2),
            'frames_total': len(rec['arrivals']),
            'seconds_with_frames': len(seconds),
            'first_half': sum(1 for a in inside if a < t0 + window / 2),
            'second_half': sum(1 for a in inside if a >= t0 + window / 2),
            'packets': len(pts),
            'encoded_bps': round(enc_bytes * 8 / span) if span > 0 else 0,
            'decoded_sizes': sorted(rec['sizes']),
            'errors': errors[:20],
            'error_count': len(errors),
            'warnings': warnings[:20],
            'warning_count': len(warnings),
            'exit': rec['proc'].returncode,
        }
    for rec in procs:
        try:
            os.unlink(rec['copy'])
        except OSError:
            pass
    os.rmdir(tmp)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
