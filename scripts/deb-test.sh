#!/usr/bin/env bash
# Tests the Debian package end to end (README, "Installing the Debian package"):
#  - on the host: lintian, every manual rendered by man without a warning, the bash, zsh and fish completions;
#  - in a chroot of a clean Debian 12 (debootstrap --variant=minbase, cached as a tarball): apt-get install of
#    the .deb with its Depends from the Debian repositories; files, user, group, conffile, camd --version; the
#    installed camd run as user camd with the installed config, a JPEG snapshot over HTTP and camctl status;
#    reinstall over itself and an upgrade to the next revision keeping an edited conffile; remove (user and
#    conffile kept, binaries gone); purge (user, group, /etc/camd gone);
#  - under systemd, when tests/vm/camvm.sh is there (or CAMVM=PATH names it): that root booted in a VM with
#    the vivid camera (scripts/deb-test-guest.sh): enabled, start policy, a camera snapshot, reload, upgrade,
#    remove, purge.
#
#   scripts/deb-test.sh            builds the two packages (scripts/deb.sh, revisions 1 and 2) and tests them
#   DEB_NO_BUILD=1 scripts/deb-test.sh   packages the binaries already built
# Environment: DEB_MIRROR (default http://deb.debian.org/debian); the root is cached in
# ${XDG_CACHE_HOME:-~/.cache}/camd-deb (delete it to measure a cold run). Run as root (chroot, mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh test
[ "$(id -u)" -eq 0 ] || { echo "deb-test.sh: run as root (debootstrap, chroot)" >&2; exit 1; }

t0=$SECONDS
failed=0
ok() {   # DESCRIPTION COMMAND...: one line, ok or FAIL
    local d="$1"; shift; if "$@"; then echo "ok   $d"; else echo "FAIL $d"; failed=1; fi; }
die() { echo "deb-test.sh: $*" >&2; exit 1; }

# ---- the packages ---------------------------------------------------------------------------------------
# xz, as shipped, but at level 1: 18 s where the default level took 108 s on 2 loaded cores (packaging/debian/rules).
DEB_REVISION=1 CAMD_DEB_LEVEL=1 scripts/deb.sh
DEB_NO_BUILD=1 DEB_REVISION=2 CAMD_DEB_COMPRESS=zstd scripts/deb.sh  # only the upgrade test installs it
arch="$(dpkg --print-architecture)"
upstream="$(dpkg-deb -f dist/camd_*-1_"$arch".deb Version)"; upstream="${upstream%-1}"
deb1="dist/camd_${upstream}-1_${arch}.deb" deb2="dist/camd_${upstream}-2_${arch}.deb"
[ -f "$deb1" ] && [ -f "$deb2" ] || die "deb.sh made no $deb1 and $deb2"
echo "==> testing $deb1 ($(du -k "$deb1" | cut -f1) KiB) and $deb2 ($((SECONDS - t0)) s so far)"

work="$(mktemp -d /var/tmp/camd-deb-test.XXXXXX)"
root="$work/root"
camd_pid=""
cleanup() {
    [ -z "$camd_pid" ] || kill "$camd_pid" 2>/dev/null || true
    for m in "$root/var/cache/apt/archives" "$root/dev/pts" "$root/dev" "$root/proc"; do
        mountpoint -q "$m" 2>/dev/null && umount "$m"
    done
    # Never delete through a mount that is still there.
    if findmnt -rn -o TARGET | grep -q "^$work"; then echo "deb-test.sh: $work is still mounted on: left it" >&2
    else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---- host: lintian, manuals, completions ----------------------------------------------------------------
lintian_out="$(lintian --fail-on error,warning "$deb1" 2>&1)" && lint=0 || lint=$?
lintian_out="$(grep -v '^running with root privileges is not recommended!$' <<<"$lintian_out" || true)"
[ -z "$lintian_out" ] || printf '%s\n' "$lintian_out" | sed 's/^/     lintian: /'
ok "lintian $deb1: no error or warning (its overrides: packaging/debian/camd.lintian-overrides)" [ "$lint" -eq 0 ]
# The H.264 encoder's libraries reach Depends through dpkg-shlibdeps (camd links libavcodec and libavutil), and the
# source package Build-Depends on their -dev packages (unless built with CAMD_H264=0: README "Licence").
depends="$(dpkg-deb -f "$deb1" Depends)"
if [ "${CAMD_H264:-1}" != 0 ]; then
    ok "Depends has libavcodec and libavutil (got: $depends)" \
        sh -c 'printf "%s" "$1" | grep -q "libavcodec[0-9]" && printf "%s" "$1" | grep -q "libavutil[0-9]"' _ "$depends"
else
    ok "Depends has no libavcodec (CAMD_H264=0; got: $depends)" sh -c '! printf "%s" "$1" | grep -q libavcodec' _ "$depends"
fi
ok "Build-Depends: libavcodec-dev and libavutil-dev (packaging/debian/control)" \
    sh -c 'grep -q "^ *libavcodec-dev" packaging/debian/control && grep -q "^ *libavutil-dev" packaging/debian/control'

x="$work/extracted"
dpkg-deb -x "$deb1" "$x"
for page in man8/camd.8 man1/camctl.1 man1/camview.1 man5/camd.toml.5; do
    warnings="$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -l "$x/usr/share/man/$page.gz" 2>&1 >/dev/null)"
    ok "man -l $page renders without warnings${warnings:+: $warnings}" [ -z "$warnings" ]
done
# Each page has every option its program's --help lists (camctl's: of every subcommand).
for page in man8/camd.8 man1/camctl.1 man1/camview.1; do
    name="$(basename "$page" | cut -d. -f1)"
    helps="$("$x/usr/bin/$name" --help 2>&1)"
    [ "$name" != camctl ] || for sub in status clients kick set reload instances; do helps+="$("$x/usr/bin/camctl" "$sub" --help 2>&1)"; done
    flags="$(grep -oE -- '--[a-z][a-z0-9-]+' <<<"$helps" | sort -u)"
    missing="$(for f in $flags; do zcat "$x/usr/share/man/$page.gz" | grep -q -- "^\.It Fl .*-${f#--}\b" || echo "$f"; done)"
    ok "$page lists all $(wc -w <<<"$flags") options of $name --help${missing:+ (missing: $(echo $missing))}" [ -z "$missing" ]
done
toml_page="$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$x/usr/share/man/man5/camd.toml.5.gz" 2>/dev/null)"
ok "camd.toml(5) has every key with its flag (fps: --fps, camctl set fps)" \
    sh -c 'printf "%s" "$1" | grep -q "^ *fps = 30" && printf "%s" "$1" | grep -q -- "--fps value" && printf "%s" "$1" | grep -q "camctl set fps"' _ "$toml_page"

# bash: the package's completion function, called as bash-completion calls it.
bash_reply="$(PATH="$x/usr/bin:$PATH" bash --norc -c '
    source "$1"
    COMP_WORDS=(camd --so); COMP_CWORD=1; COMP_LINE="camd --so"; COMP_POINT=${#COMP_LINE}
    _camd camd --so camd; printf "%s\n" "${COMPREPLY[@]}"' _ "$x/usr/share/bash-completion/completions/camd" 2>&1)"
ok "bash: camd --so<TAB> completes --source (got: $(echo $bash_reply))" grep -qx -- '--source' <<<"$bash_reply"
bash_sub="$(PATH="$x/usr/bin:$PATH" bash --norc -c '
    source "$1"
    COMP_WORDS=(camctl re); COMP_CWORD=1; COMP_LINE="camctl re"; COMP_POINT=${#COMP_LINE}
    _camctl camctl re camctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$x/usr/share/bash-completion/completions/camctl" 2>&1)"
ok "bash: camctl re<TAB> completes reload (got: $(echo $bash_sub))" grep -qx 'reload' <<<"$bash_sub"
fish_reply="$(PATH="$x/usr/bin:$PATH" fish --no-config -c "source $x/usr/share/fish/vendor_completions.d/camd.fish; complete -C 'camd --so'" 2>&1)"
ok "fish: complete -C 'camd --so' offers --source (got: $(echo $fish_reply | cut -c1-80))" grep -q -- '^--source' <<<"$fish_reply"
fish_sub="$(PATH="$x/usr/bin:$PATH" fish --no-config -c "source $x/usr/share/fish/vendor_completions.d/camctl.fish; complete -C 'camctl '" 2>&1)"
ok "fish: complete -C 'camctl ' offers the subcommands (got: $(echo $fish_sub | cut -c1-80))" \
    sh -c 'for s in status clients kick set reload; do printf "%s\n" "$1" | grep -q "^$s" || exit 1; done' _ "$fish_sub"
zsh_reply="$(zsh -f -c "
    autoload -Uz compinit && compinit -u -D
    source $x/usr/share/zsh/vendor-completions/_camd
    whence -w _camd" 2>&1)"
ok "zsh: _camd loads and defines its function (got: $zsh_reply)" grep -q '_camd: function' <<<"$zsh_reply"

# ---- a clean Debian 12 root, cached ---------------------------------------------------------------------
mirror="${DEB_MIRROR:-http://deb.debian.org/debian}"
# What the tests use in the root: systemd for the VM's PID 1 and systemctl, udev for /dev/video0's group,
# curl for the snapshot, djpeg to decode it, kmod for the VM.
include=systemd-sysv,udev,ca-certificates,curl,libjpeg-turbo-progs,kmod
cache="${XDG_CACHE_HOME:-$HOME/.cache}/camd-deb"
tarball="$cache/bookworm-minbase-$(echo "$include $mirror" | md5sum | cut -c1-8).tar"
mkdir -p "$cache/archives/partial"
if [ ! -s "$tarball" ]; then
    echo "==> debootstrap bookworm (minbase + $include) from $mirror: the first run only"
    t1=$SECONDS
    mkdir "$work/new"
    debootstrap --variant=minbase --include="$include" bookworm "$work/new" "$mirror" > "$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    # Like an installed Debian 12: updates and security too.
    cat > "$work/new/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
    rm -rf "$work/new/var/cache/apt/archives"/*.deb
    tar -C "$work/new" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$work/new"
    echo "    made $tarball ($(du -m "$tarball" | cut -f1) MB) in $((SECONDS - t1)) s"
fi
mkdir "$root"
tar -C "$root" -xf "$tarball"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
# Downloaded packages survive the run (the root does not): repeat runs download nothing.
mount --bind "$cache/archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
apt_in_root() { in_root apt-get -q -y -o Dpkg::Options::=--force-confold -o APT::Keep-Downloaded-Packages=true "$@" < /dev/null; }
cp "$deb1" "$deb2" "$root/tmp/"
b1="/tmp/$(basename "$deb1")" b2="/tmp/$(basename "$deb2")"
echo "==> apt-get install $b1 in a clean Debian 12 chroot ($((SECONDS - t0)) s so far)"
apt_in_root update > "$work/apt.log" 2>&1 || { tail "$work/apt.log"; die "apt-get update in the root failed"; }

# ---- install ---------------------------------------------------------------------------------------------
apt_in_root install "$b1" > "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; die "apt-get install $b1 failed"; }
ok "installed: dpkg says $upstream-1 is installed" [ "$(in_root dpkg-query -W -f='${Status} ${Version}' camd)" = "install ok installed $upstream-1" ]
for f in /usr/bin/camd /usr/bin/camctl /usr/bin/camview /usr/lib/systemd/system/camd.service /usr/lib/systemd/system/camd@.service \
         /usr/lib/systemd/system/camd.socket /usr/lib/systemd/system/camd-http.socket /etc/camd/camd.toml \
         /usr/share/man/man8/camd.8.gz /usr/share/man/man1/camctl.1.gz /usr/share/man/man1/camview.1.gz \
         /usr/share/man/man5/camd.toml.5.gz /usr/share/bash-completion/completions/camd \
         /usr/share/zsh/vendor-completions/_camctl /usr/share/fish/vendor_completions.d/camview.fish \
         /usr/share/doc/camd/copyright /usr/share/doc/camd/changelog.Debian.gz; do
    ok "file $f" [ -f "$root$f" ]
done
ok "no camload in the package" sh -c "! dpkg-deb -c '$deb1' | grep -q camload"
ok "camd.service runs /usr/bin/camd, reloads with /usr/bin/camctl, documents man:camd(8)" \
    sh -c "grep -qx 'ExecStart=/usr/bin/camd' '$root/usr/lib/systemd/system/camd.service' \
        && grep -q '^ExecReload=/usr/bin/camctl reload' '$root/usr/lib/systemd/system/camd.service' \
        && grep -q '^Documentation=man:camd(8)' '$root/usr/lib/systemd/system/camd.service'"
ok "camd@.service (instances) runs /usr/bin/camd on /etc/camd/%i.toml, reloads with camctl --instance %i" \
    sh -c "grep -qx 'ExecStart=/usr/bin/camd --config /etc/camd/%i.toml --control-socket /run/camd/%i.control' '$root/usr/lib/systemd/system/camd@.service' \
        && grep -qx 'ExecReload=/usr/bin/camctl reload --instance %i' '$root/usr/lib/systemd/system/camd@.service'"
ok "user camd: a system user, shell nologin, groups camd and video" \
    sh -c "[ \$(chroot '$root' id -u camd) -lt 1000 ] && chroot '$root' id -nG camd | tr ' ' '\n' | sort | tr '\n' ' ' | grep -qx 'camd video ' \
        && chroot '$root' getent passwd camd | grep -q ':/usr/sbin/nologin$'"
ok "/etc/camd/camd.toml is a conffile, 0640 root:camd, control_group = \"camd\"" \
    sh -c "chroot '$root' dpkg-query -W -f='\${Conffiles}' camd | grep -q '/etc/camd/camd.toml' \
        && [ \"\$(stat -c '%a %u %g' '$root/etc/camd/camd.toml')\" = \"640 0 \$(chroot '$root' id -g camd)\" ] \
        && grep -qx 'control_group = \"camd\"' '$root/etc/camd/camd.toml'"
ok "camd.service enabled, the sockets not" \
    sh -c "[ \"\$(chroot '$root' systemctl is-enabled camd.service)\" = enabled ] \
        && [ \"\$(chroot '$root' systemctl is-enabled camd.socket camd-http.socket | sort -u)\" = disabled ]"
ok "camd --version prints the package's upstream version $upstream" [ "$(in_root /usr/bin/camd --version)" = "$upstream" ]
ok "camd --check-config accepts the installed config" sh -c "chroot '$root' /usr/bin/camd --check-config | grep -q '^configuration OK'"

# The installed camd as user camd (groups camd, video) with the installed config, on free loopback ports.
read -r native http < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]; print(*[x.getsockname()[1] for x in s])')
uid="$(in_root id -u camd)" gid="$(in_root id -g camd)" video="$(in_root getent group video | cut -d: -f3)"
install -d -o "$uid" -g "$gid" -m 0750 "$root/run/camd"   # what RuntimeDirectory= makes under systemd
chroot --userspec="$uid:$gid" --groups="$gid,$video" "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
    /usr/bin/camd --config /etc/camd/camd.toml --listen "127.0.0.1:$native" --http-listen "127.0.0.1:$http" --rtsp-listen off \
    > "$work/camd.log" 2>&1 &
camd_pid=$!
snapshot() {
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        curl -sf -o "$root/tmp/snapshot.jpg" "http://127.0.0.1:$http/snapshot" && return 0
        kill -0 "$camd_pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
ok "camd as user camd serves a snapshot over HTTP on 127.0.0.1:$http" snapshot
ok "the snapshot decodes (djpeg) to the config's 640x480" \
    sh -c "chroot '$root' djpeg -pnm -outfile /tmp/snapshot.pnm /tmp/snapshot.jpg && [ \"\$(head -n 2 '$root/tmp/snapshot.pnm' | tail -n 1)\" = '640 480' ]"
ok "the process runs as camd with group video" \
    sh -c "[ \"\$(stat -c %u /proc/$camd_pid)\" = $uid ] && grep -qE '^Groups:.*\\b$video\\b' /proc/$camd_pid/status"
ok "camctl status over the installed control socket (/run/camd/control)" \
    sh -c "chroot '$root' /usr/bin/camctl status | grep -q testpattern"
kill -TERM "$camd_pid"; wait "$camd_pid" && stopped=0 || stopped=$?
camd_pid=""
ok "camd exits 0 on SIGTERM (got $stopped)" [ "$stopped" -eq 0 ]
[ "$failed" -eq 0 ] || { echo "--- camd's log:"; cut -c1-250 "$work/camd.log" | tail -20; }

# ---- reinstall and upgrade keep an edited conffile -------------------------------------------------------
sed -i 's/^fps = 30$/fps = 12/' "$root/etc/camd/camd.toml"
grep -qx 'fps = 12' "$root/etc/camd/camd.toml" || die "could not edit the conffile (no 'fps = 30' line)"
apt_in_root install --reinstall "$b1" > "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; die "reinstall failed"; }
ok "reinstall over itself keeps the edited conffile (fps = 12), 0640 root:camd" \
    sh -c "grep -qx 'fps = 12' '$root/etc/camd/camd.toml' && [ \"\$(stat -c '%a %u %g' '$root/etc/camd/camd.toml')\" = \"640 0 $gid\" ]"
apt_in_root install "$b2" > "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; die "upgrade to $b2 failed"; }
ok "upgrade to $upstream-2: installed, edited conffile kept, still enabled" \
    sh -c "[ \"\$(chroot '$root' dpkg-query -W -f='\${Version}' camd)\" = '$upstream-2' ] && grep -qx 'fps = 12' '$root/etc/camd/camd.toml' \
        && [ \"\$(chroot '$root' systemctl is-enabled camd.service)\" = enabled ]"
ok "upgrade: camd --check-config reads the edited file (fps=12)" sh -c "chroot '$root' /usr/bin/camd --check-config | grep -q ' fps=12 '"

# ---- remove, purge ---------------------------------------------------------------------------------------
apt_in_root remove camd > "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; die "remove failed"; }
ok "remove: binaries and units gone" sh -c "[ ! -e '$root/usr/bin/camd' ] && [ ! -e '$root/usr/bin/camctl' ] && [ ! -e '$root/usr/lib/systemd/system/camd.service' ]"
ok "remove: conffile (edited) and user camd kept, package in config-files state" \
    sh -c "grep -qx 'fps = 12' '$root/etc/camd/camd.toml' && chroot '$root' getent passwd camd >/dev/null \
        && [ \"\$(chroot '$root' dpkg-query -W -f='\${Status}' camd)\" = 'deinstall ok config-files' ]"
apt_in_root purge camd > "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; die "purge failed"; }
ok "purge: user, group, /etc/camd and the enablement link gone; dpkg forgot camd" \
    sh -c "! chroot '$root' getent passwd camd && ! chroot '$root' getent group camd && [ ! -e '$root/etc/camd' ] \
        && [ ! -e '$root/etc/systemd/system/multi-user.target.wants/camd.service' ] \
        && ! chroot '$root' dpkg-query -W camd 2>/dev/null | grep -q ."
echo "==> chroot tests done ($((SECONDS - t0)) s so far)"

# ---- under systemd, in a VM with the vivid camera ----------------------------------------------------------
camvm="${CAMVM:-tests/vm/camvm.sh}"
if [ -x "$camvm" ]; then
    # The guest has no network: the packages' dependencies must be in the root already. The chroot test above
    # installed them (purge left them: they are not camd's).
    apt_in_root install "$b1" > "$work/apt.log" 2>&1 && apt_in_root purge camd >> "$work/apt.log" 2>&1 \
        || { tail -30 "$work/apt.log"; die "could not leave the dependencies installed for the VM"; }
    for m in "$root/var/cache/apt/archives" "$root/dev/pts" "$root/dev" "$root/proc"; do umount "$m"; done
    cp scripts/deb-test-guest.sh "$root/tmp/guest.sh"
    echo "==> under systemd: $camvm boot --root (vivid camera) ($((SECONDS - t0)) s so far)"
    # Under TCG each dpkg -i of the 90 MB package takes a minute or more: the guest needs about 9 minutes.
    "$camvm" boot -t 1200 --root "$root" -- /bin/bash /tmp/guest.sh "$b1" "$b2" "$upstream" && vm=0 || vm=$?
    ok "under systemd in the VM: scripts/deb-test-guest.sh passed (exit $vm)" [ "$vm" -eq 0 ]
else
    echo "skip under systemd: no $camvm (CAMVM=PATH names the VM rig)"
fi

echo "deb-test.sh: $([ "$failed" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - t0)) s"
exit "$failed"
