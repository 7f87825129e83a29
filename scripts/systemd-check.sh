#!/usr/bin/env bash
# Checks systemd/ and scripts/install.sh without a running systemd (CI machines and this VM have none
# as PID 1): the unit files pass `systemd-analyze verify`, camd.service's exposure from
# `systemd-analyze security --offline=true` is at most 2.0 and matches the score the README records,
# the instance template camd@.service has the same hardening and score, and install.sh installs into a
# scratch DESTDIR, keeps an operator's config, and uninstalls cleanly.
#
#   scripts/systemd-check.sh [BIN_DIR]   # BIN_DIR: built camd/camview (default: swift build --show-bin-path)
#
# Facts about systemd 252 (Debian 12) this script relies on, checked on it:
# - `verify` exits 0 on unknown keys and on values it cannot parse ("Failed to parse sec value,
#   ignoring"): only its output tells, so any output at all is a failure here.
# - `verify` fails when ExecStart='s binary is missing, and `--root=DIR` resolves everything (also
#   /bin/kill and sysinit.target) inside DIR, so it cannot verify a staged tree on its own. Instead the
#   units installed into the DESTDIR are verified from a copy whose ExecStart= names the installed
#   camd inside the DESTDIR, so the check also proves that install.sh put an executable camd there.
# - `security --offline=true FILE` needs no running systemd; it prints "Overall exposure level for
#   camd.service: 1.6 OK" (0.0-10.0), and `--threshold=N` makes it exit 1 when the exposure times 10
#   is above N (exposure 1.6 passes --threshold=16, fails --threshold=15).
# Exit status: 0 all passed, 1 a check failed.
set -uo pipefail
cd "$(dirname "$0")/.."

max_exposure=2.0
if ! command -v systemd-analyze >/dev/null; then
    echo "systemd-check: FAILED: no systemd-analyze (Debian package systemd; scripts/deps.sh test installs it)"
    exit 1
fi
bin_dir="${1:-$(swift build --show-bin-path)}"
[ -x "$bin_dir/camd" ] || { echo "systemd-check: FAILED: no camd in $bin_dir (swift build first)"; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "  ok: $*"; passed=$((passed + 1)); }
fail() { echo "  FAILED: $*"; failed=$((failed + 1)); }
units=(camd.service camd@.service camd.socket camd-http.socket)
unitdir=usr/local/lib/systemd/system

# verify_units DIR CAMD: copies DIR's units, points ExecStart at CAMD (and ExecReload at the camctl beside it),
# runs verify; prints its output.
verify_units() {
    local v="$tmp/verify.$RANDOM"
    mkdir "$v"
    for u in "${units[@]}"; do cp "$1/$u" "$v/$u" || return 1; done
    sed -i -e "s|^ExecStart=/usr/local/bin/camd|ExecStart=$2|" \
        -e "s|^ExecReload=/usr/local/bin/camctl|ExecReload=$(dirname "$2")/camctl|" "$v/camd.service" "$v/camd@.service"
    systemd-analyze verify "${units[@]/#/$v/}" 2>&1 || echo "(systemd-analyze verify exited $?)"
}
# exposure FILE: prints the overall exposure ("1.6"), or nothing when the output is not understood.
exposure() {
    systemd-analyze security --offline=true --no-pager "$1" 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]\) .*/\1/p'
}
# at_most A B: A <= B for one-decimal numbers.
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

echo "==> systemd: what the unit must say"
for line in Type=notify NotifyAccess=main WatchdogSec= Restart=on-failure RestartPreventExitStatus=78 \
    RuntimeDirectory=camd User=camd SupplementaryGroups=video "DeviceAllow=char-video4linux rw" \
    DevicePolicy=closed "ExecReload=/usr/local/bin/camctl reload" ExecStart=/usr/local/bin/camd; do
    awk -v p="$line" 'index($0, p) == 1 { found = 1 } END { exit !found }' systemd/camd.service \
        && ok "camd.service: $line" || fail "camd.service lacks a line starting $line"
done
grep -qx "RuntimeDirectoryPreserve=yes" systemd/camd.service \
    && ok "camd.service: RuntimeDirectoryPreserve=yes (its stop keeps the instances' sockets in /run/camd)" \
    || fail "camd.service lacks RuntimeDirectoryPreserve=yes: stopping it would delete camd@ instances' sockets"
# The template: camd.service's lines, except where an instance differs (its config, socket, tag, reload).
for line in Type=notify NotifyAccess=main WatchdogSec= Restart=on-failure RestartPreventExitStatus=78 \
    RuntimeDirectory=camd RuntimeDirectoryPreserve=yes User=camd SupplementaryGroups=video "DeviceAllow=char-video4linux rw" \
    DevicePolicy=closed "ExecReload=/usr/local/bin/camctl reload --instance %i" \
    "ExecStart=/usr/local/bin/camd --config /etc/camd/%i.toml --control-socket /run/camd/%i.control" \
    Environment=CAMD_INSTANCE=%i SyslogIdentifier=camd@%i; do
    awk -v p="$line" 'index($0, p) == 1 { found = 1 } END { exit !found }' systemd/camd@.service \
        && ok "camd@.service: $line" || fail "camd@.service lacks a line starting $line"
done
# Everything below the instance-specific lines is the same: hardening, user, devices, limits.
same() { sed -n '/^User=camd$/,$p' "$1" | grep -v '^#'; }
diff <(same systemd/camd.service) <(same systemd/camd@.service) > "$tmp/same.diff" \
    && ok "camd@.service: from User= on (identity, devices, hardening) the same settings as camd.service" \
    || { fail "camd@.service differs from camd.service from User= on:"; cat "$tmp/same.diff"; }
grep -qx "FileDescriptorName=native" systemd/camd.socket && grep -qx "ListenStream=9999" systemd/camd.socket \
    && ok "camd.socket: :9999 named native" || fail "camd.socket: ListenStream=9999 / FileDescriptorName=native"
grep -qx "FileDescriptorName=http" systemd/camd-http.socket && grep -qx "ListenStream=8080" systemd/camd-http.socket \
    && grep -qx "Service=camd.service" systemd/camd-http.socket \
    && ok "camd-http.socket: :8080 named http, for camd.service" || fail "camd-http.socket: port, name or Service="

echo "==> install.sh into a scratch DESTDIR (binaries from $bin_dir)"
root="$tmp/root"
mkdir -p "$root/etc/camd"
echo "# the operator's own config" > "$root/etc/camd/camd.toml"
if DESTDIR="$root" scripts/install.sh --bin-dir "$bin_dir" > "$tmp/install.log" 2>&1; then
    ok "install.sh exited 0"
else
    fail "install.sh failed:"; cat "$tmp/install.log"
fi
for f in usr/local/bin/camd usr/local/bin/camview; do
    [ -x "$root/$f" ] && cmp -s "$root/$f" "$bin_dir/${f##*/}" && ok "/$f installed" || fail "/$f missing or different"
done
if [ -x "$bin_dir/camctl" ]; then
    [ -x "$root/usr/local/bin/camctl" ] && ok "/usr/local/bin/camctl installed" || fail "camctl built but not installed"
fi
for u in "${units[@]}"; do
    cmp -s "$root/$unitdir/$u" "systemd/$u" && [ "$(stat -c %a "$root/$unitdir/$u")" = 644 ] \
        && ok "/$unitdir/$u installed (0644)" || fail "/$unitdir/$u missing or different"
done
[ "$(cat "$root/etc/camd/camd.toml")" = "# the operator's own config" ] \
    && ok "an existing /etc/camd/camd.toml is kept" || fail "install.sh overwrote the operator's camd.toml"
[ -f "$root/usr/local/share/doc/camd/README.md" ] && ok "README installed as the units' Documentation=" \
    || fail "/usr/local/share/doc/camd/README.md missing"

fresh="$tmp/fresh"
DESTDIR="$fresh" scripts/install.sh --bin-dir "$bin_dir" > "$tmp/install-fresh.log" 2>&1 \
    || { fail "install.sh into an empty DESTDIR failed:"; cat "$tmp/install-fresh.log"; }
# The installed config is the repo's, except that the service's group may use the control socket.
sed 's/^control_group = ""$/control_group = "camd"/' config/camd.toml | cmp -s "$fresh/etc/camd/camd.toml" - \
    && grep -q '^control_group = "camd"$' "$fresh/etc/camd/camd.toml" \
    && [ "$(stat -c %a "$fresh/etc/camd/camd.toml")" = 640 ] \
    && ok "no config yet: config/camd.toml installed as /etc/camd/camd.toml (0640, control_group = \"camd\")" \
    || fail "/etc/camd/camd.toml not installed as config/camd.toml with control_group = \"camd\", or not 0640"

opt="$tmp/opt"
DESTDIR="$opt" PREFIX=/opt/camd scripts/install.sh --bin-dir "$bin_dir" > "$tmp/install-opt.log" 2>&1 \
    && grep -qx "ExecStart=/opt/camd/bin/camd" "$opt/etc/systemd/system/camd.service" && [ -x "$opt/opt/camd/bin/camd" ] \
    && ok "PREFIX=/opt/camd: units in /etc/systemd/system, ExecStart=/opt/camd/bin/camd" \
    || { fail "PREFIX=/opt/camd install"; cat "$tmp/install-opt.log"; }

echo "==> systemd-analyze verify (installed units, ExecStart= pointed at the installed camd)"
out="$(verify_units "$root/$unitdir" "$root/usr/local/bin/camd")"
if [ -z "$out" ]; then ok "verify: no errors or warnings for ${units[*]}"; else fail "verify:"; echo "$out"; fi
# The check itself must be able to fail: a value systemd ignores has to show up.
mkdir "$tmp/bad" && cp "${units[@]/#/systemd/}" "$tmp/bad/" && sed -i 's/^WatchdogSec=.*/WatchdogSec=soon/' "$tmp/bad/camd.service"
bad="$(verify_units "$tmp/bad" "$root/usr/local/bin/camd")"
[ -n "$bad" ] && ok "verify reports a broken copy (WatchdogSec=soon)" || fail "verify did not notice WatchdogSec=soon"

echo "==> systemd-analyze security --offline=true systemd/camd.service"
score="$(exposure systemd/camd.service)"
if [ -z "$score" ]; then
    fail "could not read the overall exposure from:"; systemd-analyze security --offline=true --no-pager systemd/camd.service | tail -3
elif at_most "$score" "$max_exposure" \
    && systemd-analyze security --offline=true --threshold="$(awk -v m="$max_exposure" 'BEGIN { print m * 10 }')" \
        --no-pager systemd/camd.service > /dev/null 2>&1; then
    ok "exposure $score (at most $max_exposure, OK; --threshold agrees)"
else
    fail "exposure $score is above $max_exposure"
    systemd-analyze security --offline=true --no-pager systemd/camd.service | grep -E '✗|Overall'
fi
if [ -n "$score" ]; then
    grep -q "Overall exposure level for camd.service: $score " README.md \
        && ok "README records $score" || fail "README does not record the measured exposure $score"
fi
# The template (systemd-analyze instantiates it as camd@i) scores the same.
iscore="$(exposure systemd/camd@.service)"
[ -n "$score" ] && [ "$iscore" = "$score" ] && ok "camd@.service: exposure $iscore, as camd.service" \
    || fail "camd@.service exposure '$iscore', camd.service '$score'"
# Stripped of its hardening section the unit must fail, or the parsing above proves nothing.
sed '/^# ---- Hardening/,/^\[Install\]/{/^\[Install\]/!d}' systemd/camd.service > "$tmp/bare.service"
bare="$(exposure "$tmp/bare.service")"
[ -n "$bare" ] && ! at_most "$bare" "$max_exposure" && ok "without hardening the check fails (exposure $bare)" \
    || fail "without hardening the exposure read is '$bare'"

echo "==> install.sh --uninstall"
DESTDIR="$fresh" scripts/install.sh --uninstall > "$tmp/uninstall.log" 2>&1 || { fail "--uninstall failed"; cat "$tmp/uninstall.log"; }
left="$(cd "$fresh" && find . -type f | sort | tr '\n' ' ')"
[ "$left" = "./etc/camd/camd.toml " ] && ok "--uninstall leaves only /etc/camd/camd.toml" || fail "--uninstall left: $left"
DESTDIR="$fresh" scripts/install.sh --uninstall --purge > "$tmp/purge.log" 2>&1 || { fail "--purge failed"; cat "$tmp/purge.log"; }
left="$(cd "$fresh" && find . -type f -o -type l | sort | tr '\n' ' ')"
[ -z "$left" ] && ! [ -e "$fresh/etc/camd" ] && ok "--uninstall --purge leaves no file and no /etc/camd" \
    || fail "--uninstall --purge left: $left"

echo "systemd-check: $passed passed, $failed failed"
((failed == 0))
