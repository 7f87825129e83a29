#!/usr/bin/env bash
# Installs camd as a systemd service: builds the release binaries, installs them with the unit files,
# the config (only when absent) and the `camd` system user. Run as root from the repository.
#
#   scripts/install.sh                      # build (release) and install under /usr/local
#   scripts/install.sh --uninstall          # stop/disable (camd@NAME instances too), remove binaries, units
#                                           # and docs; keep the configs
#   scripts/install.sh --uninstall --purge  # also remove /etc/camd and the camd user and group
#
# Options:  --no-build          install what is already built (no swift build)
#           --bin-dir DIR       take the binaries from DIR (implies --no-build), e.g. .build/debug
# Environment (for packaging and for tests into a scratch directory; nothing outside it is touched):
#   DESTDIR     staging root, prefixed to every installed path (default: empty = the real system).
#               With DESTDIR set, no user is created, no file is chowned and systemctl is not run.
#   PREFIX      /usr/local by default; binaries go to PREFIX/bin and the units' ExecStart follows it.
#   UNITDIR     where the unit files go: PREFIX/lib/systemd/system for /usr/local and /usr (both are
#               in systemd's search path), else /etc/systemd/system.
#   SYSCONFDIR  /etc by default; the config is SYSCONFDIR/camd/camd.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=install purge=0 build=1 bin_dir=""
while (($#)); do
    case "$1" in
        --uninstall) mode=uninstall ;;
        --purge) purge=1 ;;
        --no-build) build=0 ;;
        --bin-dir) bin_dir="${2:?--bin-dir needs a directory}"; build=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if ((purge)) && [ "$mode" != uninstall ]; then echo "install.sh: --purge goes with --uninstall" >&2; exit 2; fi

DESTDIR="${DESTDIR:-}"
PREFIX="${PREFIX:-/usr/local}"
SYSCONFDIR="${SYSCONFDIR:-/etc}"
case "$PREFIX" in
    /usr/local|/usr) UNITDIR="${UNITDIR:-$PREFIX/lib/systemd/system}" ;;
    *) UNITDIR="${UNITDIR:-/etc/systemd/system}" ;;
esac
bindir="$PREFIX/bin" docdir="$PREFIX/share/doc/camd" confdir="$SYSCONFDIR/camd"
units=(camd.service camd@.service camd.socket camd-http.socket)
programs=(camd camview camctl)

# The real system (not a DESTDIR staging tree) with systemd running as init.
systemd_running() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; }

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (or set DESTDIR to stage the files elsewhere)" >&2; exit 1
fi

# camd@NAME instances that are loaded (running or failed) or enabled (a link in some .wants/ directory).
instances() {
    { systemctl list-units --all --plain --no-legend 'camd@*.service' 2>/dev/null | awk '{ print $1 }'
      find /etc/systemd/system -name 'camd@?*.service' -type l -printf '%f\n' 2>/dev/null; } | sort -u
}

if [ "$mode" = uninstall ]; then
    if systemd_running; then
        # The template itself cannot be stopped: its enabled and running instances are.
        mapfile -t running < <(instances)
        systemctl disable --now camd.service camd.socket camd-http.socket "${running[@]}" 2>/dev/null || true
    fi
    for p in "${programs[@]}"; do rm -f "$DESTDIR$bindir/$p"; done
    for u in "${units[@]}"; do rm -f "$DESTDIR$UNITDIR/$u"; done
    rm -f "$DESTDIR$docdir/README.md"
    rmdir "$DESTDIR$docdir" 2>/dev/null || true
    if ((purge)); then
        rm -f "$DESTDIR$confdir/camd.toml"
        rmdir "$DESTDIR$confdir" 2>/dev/null || echo "install.sh: kept $DESTDIR$confdir: it holds other files"
        if [ -z "$DESTDIR" ]; then
            if getent passwd camd >/dev/null; then userdel camd; fi
            # userdel leaves the group when it has other members (people added for camctl).
            if getent group camd >/dev/null; then groupdel camd; fi
        fi
    elif [ -f "$DESTDIR$confdir/camd.toml" ]; then
        echo "install.sh: kept $DESTDIR$confdir/camd.toml and the camd user (--uninstall --purge removes them)"
    fi
    if systemd_running; then systemctl daemon-reload; fi
    echo "install.sh: camd uninstalled from ${DESTDIR:-/}"
    exit 0
fi

if ((build)); then
    source scripts/deps.sh
    products=(camd camview)
    if grep -q 'executable(name: "camctl"' Package.swift; then products+=(camctl); fi
    for p in "${products[@]}"; do
        echo "==> building $p (release)"
        swift build -c release --product "$p"
    done
    bin_dir="$(swift build -c release --show-bin-path)"
fi
bin_dir="${bin_dir:-.build/release}"
[ -x "$bin_dir/camd" ] || { echo "install.sh: no camd in $bin_dir (build it, or drop --no-build)" >&2; exit 1; }

# The system user first, so that the config can be given its group.
if [ -z "$DESTDIR" ] && ! getent passwd camd >/dev/null; then
    echo "==> creating the system user camd (group camd, also in video)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        --groups video --comment "camd camera-streaming daemon" camd
fi

echo "==> installing into ${DESTDIR:-/} (PREFIX=$PREFIX, units in $UNITDIR)"
for p in "${programs[@]}"; do
    if [ -x "$bin_dir/$p" ]; then
        install -D -m 0755 "$bin_dir/$p" "$DESTDIR$bindir/$p"
    elif [ "$p" != camctl ]; then
        echo "install.sh: no $p in $bin_dir" >&2; exit 1
    fi
done
install -d -m 0755 "$DESTDIR$UNITDIR"
for u in "${units[@]}"; do
    # The units name /usr/local paths; follow PREFIX.
    sed "s|/usr/local/|$PREFIX/|g" "systemd/$u" > "$DESTDIR$UNITDIR/$u"
    chmod 0644 "$DESTDIR$UNITDIR/$u"
done
install -D -m 0644 README.md "$DESTDIR$docdir/README.md"

# Never overwrite an operator's config. 0640 root:camd: it may hold an http_auth hash or http_token.
if [ -e "$DESTDIR$confdir/camd.toml" ]; then
    echo "    kept the existing $DESTDIR$confdir/camd.toml"
else
    install -D -m 0640 config/camd.toml "$DESTDIR$confdir/camd.toml"
    # The service's own group may use camctl (usermod -aG camd alice); the repo's default is "" because
    # a group must exist, and on a development machine there is none.
    sed -i 's/^control_group = ""$/control_group = "camd"/' "$DESTDIR$confdir/camd.toml"
    if [ -z "$DESTDIR" ]; then chgrp camd "$confdir/camd.toml"; fi
    echo "    installed $DESTDIR$confdir/camd.toml (the defaults, control_group = \"camd\": test pattern on :9999 and :8080)"
fi

if systemd_running; then
    systemctl daemon-reload
    cat <<EOF
==> done. Start camd now and at boot:
      systemctl enable --now camd.service
    or let systemd own the ports and start camd on the first connection (socket activation):
      systemctl enable --now camd.socket camd-http.socket
    After an upgrade: systemctl try-restart camd.service 'camd@*.service'. Config: $confdir/camd.toml (reload: systemctl reload camd).
    More cameras: one camd@NAME instance each, with its own config and ports (README "Several cameras per box"):
      cp $confdir/camd.toml $confdir/garage.toml   # edit source, listen, http_listen
      systemctl enable --now camd@garage
EOF
else
    echo "==> done (systemd is not running here: no daemon-reload; see README \"Running as a service\")"
fi
