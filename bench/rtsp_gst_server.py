#!/usr/bin/python3
"""GStreamer's RTSP server (gst-rtsp-server through PyGObject), the peer of camd in bench/rtsp_bench.py.

  /usr/bin/python3 bench/rtsp_gst_server.py PORT [--seconds S] [--launch PIPELINE] [--not-seekable]

Serves rtsp://127.0.0.1:PORT/stream from ONE shared media (factory.set_shared(True)): the pipeline runs once and
every client gets the same RTP packets, which is what camd does (encode once, packetise once). The default
pipeline encodes a 1280x720 30 fps moving test pattern (SMPTE bars scrolling 5 px a frame, about the speed of
camd's test pattern, whose bars cross the picture every 8 s) with libx264 at camd's settings:

  videotestsrc is-live=true pattern=smpte horizontal-speed=5 ! video/x-raw,format=I420,width=1280,height=720,
  framerate=30/1 ! x264enc speed-preset=ultrafast tune=zerolatency bitrate=2000 key-int-max=30 bframes=0 !
  video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1

--not-seekable (for a file source, e.g. bench/rtsp_bench.py --source h264's `filesrc ! qtdemux ! h264parse !
rtph264pay`): the media answers that it cannot seek, as a live camera does. Without it every viewer's PLAY with
"Range: npt=0.000-" (camload, ffmpeg, VLC all send one) makes a flushing seek of the ONE shared pipeline back to 0:
each viewer joining rewinds the stream of all the others.

Listens on 127.0.0.1 only, with a listen backlog of 1024 (the default 5 drops SYNs under a connect ramp).
Prints "listening PORT" when bound; exits by itself after --seconds (a bound on every run) or on SIGTERM/SIGINT.
Needs Debian's python3-gi, gir1.2-gst-rtsp-server-1.0 and gstreamer1.0-plugins-ugly (x264enc): use /usr/bin/python3,
the interpreter those packages install into.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

DEFAULT_LAUNCH = (
    "( videotestsrc is-live=true pattern=smpte horizontal-speed=5 "
    "! video/x-raw,format=I420,width=1280,height=720,framerate=30/1 "
    "! x264enc speed-preset=ultrafast tune=zerolatency bitrate=2000 key-int-max=30 bframes=0 "
    "! video/x-h264,profile=constrained-baseline "
    "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)


def answer_not_seekable(pad, info):
    """A SEEKING query going upstream from pay0 is answered here, untouched: a new SEEKING query says "not seekable"
    (Python cannot write into the query, it is not writable from a probe). Other queries pass."""
    if info.get_query().type == Gst.QueryType.SEEKING:
        return Gst.PadProbeReturn.HANDLED
    return Gst.PadProbeReturn.OK


def not_seekable(factory, media):
    pay = media.get_element().get_by_name("pay0")
    pay.get_static_pad("sink").add_probe(Gst.PadProbeType.QUERY_UPSTREAM, answer_not_seekable)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--seconds", type=float, default=600, help="exit after this long (default 600)")
    ap.add_argument("--launch", default=DEFAULT_LAUNCH, help="the media factory's launch line")
    ap.add_argument("--path", default="/stream")
    ap.add_argument("--not-seekable", action="store_true",
                    help="answer SEEKING queries at pay0 with 'not seekable' (a file played as a camera: no rewinds)")
    a = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    server.set_backlog(1024)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(a.launch)
    factory.set_shared(True)
    if a.not_seekable:
        factory.connect("media-configure", not_seekable)
    server.get_mount_points().add_factory(a.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{a.port}", file=sys.stderr)
        sys.exit(1)
    print(f"listening {a.port}", flush=True)

    loop = GLib.MainLoop()
    GLib.timeout_add(int(a.seconds * 1000), loop.quit)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
