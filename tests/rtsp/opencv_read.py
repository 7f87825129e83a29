#!/usr/bin/env python3
"""OpenCV as an RTSP client: cv2.VideoCapture(URL) (its FFmpeg backend) reads N frames; prints one line
"frames=N shape=HxWxC" (or "open failed"/"read failed after K") and exits 0 only when all N frames came with the
expected shape. The transport is OpenCV's choice unless OPENCV_FFMPEG_CAPTURE_OPTIONS says
"rtsp_transport;tcp" (FFmpeg's default for rtsp://: UDP first)."""
import sys
import time

import cv2

url, want, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
deadline = time.monotonic() + float(sys.argv[5]) if len(sys.argv) > 5 else time.monotonic() + 30
cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
if not cap.isOpened():
    print('open failed')
    sys.exit(1)
got, shapes = 0, set()
while got < want and time.monotonic() < deadline:
    ok, frame = cap.read()
    if not ok or frame is None:
        print(f'read failed after {got}')
        sys.exit(1)
    shapes.add(frame.shape)
    got += 1
cap.release()
shape = 'x'.join(str(d) for d in sorted(shapes)[0]) if shapes else '-'
print(f'frames={got} shape={shape}' + (f' (also {sorted(shapes)[1:]})' if len(shapes) > 1 else ''))
sys.exit(0 if got == want and shapes == {(height, width, 3)} else 1)
