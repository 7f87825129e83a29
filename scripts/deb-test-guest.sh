#!/bin/bash
# The guest half of scripts/deb-test.sh: runs inside the VM (tests/vm/camvm.sh boot --root), under systemd as
# PID 1, with the vivid camera driver's /dev/video0, on the clean Debian 12 root the host test made (the
# package's dependencies already installed; no network). Installs the package with dpkg and checks the service
# as the package sets it up: enabled, not started with the default test pattern, a camera snapshot, reload,
# upgrade (restarted, conffile kept), remove (stopped), purge, and a first install that finds a camera
# configured (started).
#   deb-test-guest.sh DEB1 DEB2 UPSTREAM_VERSION
set -uo pipefail
deb1="$1" deb2="$2" upstream="$3"
conf=/etc/camd/camd.toml
failed=0
ok() { local d="$1"; shift; if "$@"; then echo "ok   guest: $d"; else echo "FAIL guest: $d"; failed=1; return 1; fi; }
active() { [ "$(systemctl is-active camd.service)" = active ]; }
until_true() {   # SECONDS COMMAND...: polls the condition until it holds or the time is up
    local deadline=$((SECONDS + $1)); shift
    while ((SECONDS < deadline)); do "$@" && return 0; sleep 0.3; done
    "$@"
}
snapshot() {   # a JPEG from camd's HTTP port that djpeg decodes to the camera's 640x360, not a placeholder
    rm -f /tmp/snap.*
    curl -s -D /tmp/snap.headers -o /tmp/snap.jpg http://127.0.0.1:8080/snapshot || return 1
    grep -q '^HTTP/1.1 200' /tmp/snap.headers && ! grep -qi '^X-Placeholder: 1' /tmp/snap.headers || return 1
    djpeg -pnm -outfile /tmp/snap.pnm /tmp/snap.jpg 2>/dev/null && [ "$(head -n 2 /tmp/snap.pnm | tail -n 1)" = "640 360" ]
}
why_no_snapshot() {
    echo "     headers: $(tr -d '\r' < /tmp/snap.headers 2>/dev/null | tr '\n' ' ' | cut -c1-300)"
    echo "     decoded: $(head -n 2 /tmp/snap.pnm 2>/dev/null | tail -n 1)"
    journalctl -u camd.service -n 15 --no-pager | cut -c1-250 | sed 's/^/     /'
}
mainpid() { systemctl show -P MainPID camd.service; }
export DEBIAN_FRONTEND=noninteractive

video_group() { [ "$(stat -c %G /dev/video0 2>/dev/null)" = video ]; }
# udev's coldplug gives it group video; on a loaded machine under TCG the command can start before that is done.
ok "vivid's /dev/video0 is there, group video" until_true 30 video_group
dpkg_quiet() { dpkg "$@" > /tmp/dpkg.log 2>&1 || { cut -c1-200 /tmp/dpkg.log | tail -20; return 1; }; }
ok "dpkg -i $deb1" dpkg_quiet -i "$deb1"
ok "camd.service enabled, camd.socket and camd-http.socket not" \
    sh -c '[ "$(systemctl is-enabled camd.service)" = enabled ] && [ "$(systemctl is-enabled camd.socket)" = disabled ] && [ "$(systemctl is-enabled camd-http.socket)" = disabled ]'
ok "not started: the default config streams the test pattern, not a camera" sh -c '! systemctl is-active --quiet camd.service'
ok "camd@.service installed for instances (camd@x reads /etc/camd/x.toml), none enabled or running" \
    sh -c '[ -z "$(systemctl list-units --all --no-legend "camd@*")" ] && ! ls /etc/systemd/system/*.wants/camd@* 2>/dev/null && systemctl show -P ExecStart camd@x.service | grep -q "/etc/camd/x.toml"'
ok "the unit's documentation is man:camd(8), and man finds the page" \
    sh -c 'systemctl show -P Documentation camd.service | grep -q "man:camd(8)" && [ -s /usr/share/man/man8/camd.8.gz ]'

# 640x360, one of vivid's webcam sizes (640x480 is not); 10 fps is light enough for the VM's emulated CPU.
sed -i 's|^source = .*|source = "v4l2:/dev/video0"|; s/^width = 640$/width = 640/; s/^height = 480$/height = 360/; s/^fps = 30$/fps = 10/' "$conf"
systemctl restart camd.service
ok "restarted with source = v4l2:/dev/video0: active" until_true 30 active
ok "a snapshot of the camera (vivid) over HTTP decodes to 640x360" until_true 60 snapshot || why_no_snapshot
ok "runs as user camd" sh -c '[ "$(stat -c %U "/proc/$(systemctl show -P MainPID camd.service)")" = camd ]'
ok "camctl status (as root) names the camera" sh -c 'camctl status | grep -q "v4l2:/dev/video0"'
pid="$(mainpid)"
sed -i 's/^fps = 10$/fps = 5/' "$conf"
ok "systemctl reload camd succeeds, same process" sh -c "systemctl reload camd.service && [ \"\$(systemctl show -P MainPID camd.service)\" = $pid ] && systemctl is-active --quiet camd.service"

ok "upgrade: dpkg -i $deb2" dpkg_quiet -i --force-confold "$deb2"
ok "upgrade: $upstream-2 installed, the edited conffile kept" \
    sh -c "[ \"\$(dpkg-query -W -f='\${Version}' camd)\" = '$upstream-2' ] && grep -qx 'source = \"v4l2:/dev/video0\"' $conf && grep -qx 'fps = 5' $conf"
restarted() { active && [ "$(mainpid)" != "$pid" ] && [ "$(mainpid)" != 0 ]; }
ok "upgrade: camd was running, so it was restarted (a new process)" until_true 30 restarted
ok "upgrade: a snapshot after the restart" until_true 60 snapshot || why_no_snapshot

systemctl stop camd.service
ok "upgrade while stopped (reinstall $deb2) leaves it stopped" sh -c "dpkg -i --force-confold '$deb2' >/dev/null 2>&1 && ! systemctl is-active --quiet camd.service"
systemctl start camd.service
until_true 30 active >/dev/null
ok "remove: dpkg -r stops camd; config and user kept" \
    sh -c "dpkg -r camd >/dev/null 2>&1 && ! systemctl is-active --quiet camd.service && ! grep -qx camd /proc/[0-9]*/comm && [ -f $conf ] && getent passwd camd >/dev/null"
ok "purge: user, group and /etc/camd gone" sh -c "dpkg -P camd >/dev/null 2>&1 && ! getent passwd camd && ! getent group camd && [ ! -e /etc/camd ]"

# A first install onto a box whose config already names a camera (kept with --force-confold) starts camd.
mkdir -p /etc/camd
printf 'source = "v4l2:/dev/video0"\nwidth = 640\nheight = 360\nfps = 10\ncontrol_group = "camd"\n' > "$conf"
ok "first install with a camera configured: dpkg -i" dpkg_quiet -i --force-confold "$deb1"
ok "first install with a camera configured: started" until_true 30 active
ok "first install with a camera configured: snapshot" until_true 60 snapshot || why_no_snapshot
# (No purge: the VM's writes vanish with it.)

echo "guest: $([ "$failed" -eq 0 ] && echo passed || echo FAILED)"
exit "$failed"
