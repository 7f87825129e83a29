#!/usr/bin/env python3
# The guest side of scripts/vm-hdmi-test.sh, run inside camvm's VM with vivid's one input an HDMI input: sets what
# the HDMI "source" sends (vivid's "DV Timings Signal Mode" and "DV Timings" controls, with v4l2-ctl), starts camd
# on /dev/video0, and listens on TCP port 7000 (forwarded to the host's loopback only) for one-line commands that
# change the source while camd streams, as a source switching modes or a pulled cable would:
#   mode WxHp    "Selected DV Timings": the first of vivid's timings whose name starts so (e.g. 720x576p)
#   nosignal | nolock | range    QUERY_DV_TIMINGS then fails with ENOLINK | ENOLCK | ERANGE
# Each answer is one line: "ok <what v4l2-ctl set>" or "error <why>". Usage: hdmi-guest.py CAMD [CAMD ARGS...]
import re
import socket
import subprocess
import sys

DEVICE = "/dev/video0"
SIGNAL_MODES = {"nosignal": 1, "nolock": 2, "range": 3}  # vivid's menu: 0 current, 1 no signal, 2 no lock, 3 out of range, 4 selected


def v4l2_ctl(*args):
    return subprocess.run(["v4l2-ctl", "-d", DEVICE, *args], capture_output=True, text=True, timeout=30)


def timings_menu():
    """vivid's "dv_timings" menu: item name (e.g. 720x576p50) → index."""
    lines = v4l2_ctl("--list-ctrls-menus").stdout.splitlines()
    items = {}
    for i, line in enumerate(lines):
        if re.match(r"\s*dv_timings\s+0x", line):
            for item in lines[i + 1:]:
                match = re.match(r"\s+(\d+): (\S+)", item)
                if not match:
                    break
                items.setdefault(match.group(2), int(match.group(1)))
            break
    return items


def apply(command, menu):
    words = command.split()
    if len(words) == 2 and words[0] == "mode" and re.fullmatch(r"[0-9]+x[0-9]+[pi]", words[1]):
        names = [name for name in menu if name.startswith(words[1])]
        if not names:
            return "error no vivid timings named %s* (has: %s)" % (words[1], " ".join(menu))
        setting = "dv_timings=%d,dv_timings_signal_mode=4" % menu[names[0]]
    elif len(words) == 1 and words[0] in SIGNAL_MODES:
        setting = "dv_timings_signal_mode=%d" % SIGNAL_MODES[words[0]]
    else:
        return "error unknown command %r" % command[:80]
    result = v4l2_ctl("-c", setting)
    if result.returncode != 0:
        return "error v4l2-ctl -c %s: %s" % (setting, (result.stderr or result.stdout).strip()[:200])
    return "ok %s (%s)" % (setting, names[0] if words[0] == "mode" else words[0])


def main():
    menu = timings_menu()
    if not menu:
        print("hdmi-guest: vivid shows no dv_timings control (is input 0 an HDMI input?)", flush=True)
        print(v4l2_ctl("--list-ctrls-menus").stdout, flush=True)
        return 1
    print("hdmi-guest: initial source:", apply("mode 640x480p", menu), flush=True)
    camd = subprocess.Popen(sys.argv[1:])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 7000))
    server.listen(4)
    while camd.poll() is None:
        server.settimeout(1)
        try:
            client, _ = server.accept()
        except socket.timeout:
            continue
        with client:
            client.settimeout(10)
            try:
                command = client.recv(256).decode("ascii", "replace").strip()
            except OSError:
                continue
            answer = apply(command, menu)
            print("hdmi-guest: %s -> %s" % (command, answer), flush=True)
            client.sendall((answer + "\n").encode())
    return camd.returncode


sys.exit(main())
