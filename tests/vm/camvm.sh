#!/usr/bin/env bash
# camvm: camd's VM test rig. Boots Debian 12's own kernel under QEMU with the vivid virtual camera driver
# loaded, so that /dev/video0 is a real V4L2 driver, and runs one command there: chrooted into the host's
# root (run) or as a unit of systemd running as PID 1 (boot). The guest sees the root read-only with a
# RAM overlay on top, so its writes vanish at power-off. How it works, timings, limits: tests/vm/README.md.
#
#   tests/vm/camvm.sh run  [options] -- COMMAND [ARG...]   as root, cwd = the caller's cwd
#   tests/vm/camvm.sh boot [options] -- COMMAND [ARG...]   a oneshot unit under systemd, then power-off
#   tests/vm/camvm.sh selftest [--root DIR]                checks the rig itself (about 1 min under TCG)
#   tests/vm/camvm.sh fetch                                downloads the kernel, builds the initramfs
#
# Options:
#   -p HOST:GUEST  forward 127.0.0.1:HOST on the host to TCP port GUEST in the guest (repeatable)
#   -t SECONDS     power the VM off after this long (default 600)
#   -o "OPTS"      vivid's module options (default "n_devs=1 node_types=0x1 input_types=0x0": one webcam)
#   --root DIR     the guest's root is DIR, a Debian 12 tree (see the README), instead of the host's /;
#                  COMMAND is then a path inside DIR, and its cwd is /
#   -v             print the guest's kernel console on stderr at the end
#
# Exit status: the command's; 2 a usage or setup error; 3 the VM never started the command (it did not
# boot); 4 the command started but no result came back (-t expired or the guest crashed).
# Downloads (apt-get download, nothing installed) are cached in $CAMD_VM_CACHE, default
# ${XDG_CACHE_HOME:-~/.cache}/camd-vm. Needs qemu-system-x86, kmod, cpio, python3 (scripts/deps.sh test).
set -eEuo pipefail
trap 'exit 2' ERR   # a failure on the host side is a setup error (2), never mistaken for the command's status

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CAMD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/camd-vm}"
t0=${EPOCHREALTIME/./}
say() {
    local us=$((${EPOCHREALTIME/./} - t0))
    printf '[camvm %3d.%ds] %s\n' $((us / 1000000)) $((us / 100000 % 10)) "$*" >&2
}
die() { echo "camvm: error: $*" >&2; exit 2; }
usage() { sed -n '7,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# ---- fetch: Debian's kernel and busybox into the cache, then the initramfs --------------------------

download() {   # PACKAGE: its .deb into $cache/debs (once)
    compgen -G "$cache/debs/$1_*.deb" > /dev/null && return
    mkdir -p "$cache/debs"
    say "apt-get download $1"
    (cd "$cache/debs" && apt-get -q -o APT::Sandbox::User=root download "$1" > /dev/null) \
        || die "apt-get download $1 failed (has apt-get update run? is deb.debian.org reachable?)"
}

fetch() {
    local tool pkg
    for tool in qemu-system-x86_64:qemu-system-x86 depmod:kmod modprobe:kmod cpio:cpio python3:python3 apt-get:apt; do
        command -v "${tool%%:*}" > /dev/null || die "${tool%%:*} not found: apt-get install ${tool#*:} (scripts/deps.sh test installs it)"
    done
    mkdir -p "$cache"
    # Two VMs started at once on an empty cache must not unpack into the same folders.
    local lock; exec {lock}> "$cache/.lock"; flock "$lock"
    if [ ! -s "$cache/kernel/kver" ]; then
        # linux-image-amd64 is the metapackage; it depends on the current ABI's package, linux-image-6.1.0-N-amd64.
        pkg="$(apt-cache depends linux-image-amd64 2> /dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
        [ -n "$pkg" ] || die "apt does not know linux-image-amd64: run apt-get update first"
        download "$pkg"
        rm -rf "$cache/kernel.new" && dpkg -x "$cache/debs/${pkg}"_*.deb "$cache/kernel.new"
        kver="$(ls "$cache/kernel.new/lib/modules")"
        [ -f "$cache/kernel.new/boot/vmlinuz-$kver" ] || die "$pkg has no /boot/vmlinuz-$kver"
        depmod -b "$cache/kernel.new" "$kver"   # the package ships no modules.dep: its postinst makes it
        # The bare ELF kernel, booted through its PVH entry point: decompressing the xz'd bzImage under TCG
        # takes 2-20 s of every boot (the more the host is loaded, the longer).
        python3 -c 'import lzma, sys
image = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(lzma.LZMADecompressor().decompress(image[image.index(b"\xfd7zXZ\0"):]))' \
            "$cache/kernel.new/boot/vmlinuz-$kver" > "$cache/kernel.new/vmlinux" \
            || die "cannot extract the ELF kernel from $pkg's vmlinuz-$kver"
        echo "$kver" > "$cache/kernel.new/kver"
        rm -rf "$cache/kernel" && mv "$cache/kernel.new" "$cache/kernel"
    fi
    kver="$(cat "$cache/kernel/kver")"
    if [ ! -x "$cache/busybox/bin/busybox" ]; then
        download busybox-static
        rm -rf "$cache/busybox" && dpkg -x "$cache/debs"/busybox-static_*.deb "$cache/busybox"
    fi
    initramfs="$cache/initramfs-$kver.cpio"
    if [ ! -s "$initramfs" ] || [ "$here/init" -nt "$initramfs" ] || [ "${BASH_SOURCE[0]}" -nt "$initramfs" ]; then
        build_initramfs
    fi
    flock -u "$lock"; exec {lock}>&-
}

build_initramfs() {   # busybox, tests/vm/init and the modules /init loads, with their dependencies
    local st m ko mods="$cache/kernel/lib/modules/$kver"
    st="$(mktemp -d "$cache/initramfs.XXXXXX")"
    mkdir -p "$st/bin" "$st/lib/modules/$kver"
    cp "$cache/busybox/bin/busybox" "$st/bin/"
    cp "$here/init" "$st/init" && chmod 0755 "$st/init"
    for m in virtio_pci 9pnet_virtio 9p overlay virtio_net vivid; do
        modprobe -d "$cache/kernel" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }' |
            while read -r ko; do
                mkdir -p "$st/lib/modules/$kver/$(dirname "${ko#"$mods"/}")"
                cp "$ko" "$st/lib/modules/$kver/${ko#"$mods"/}"
            done
    done
    cp "$mods"/modules.{builtin,builtin.modinfo,order} "$st/lib/modules/$kver/"
    depmod -b "$st" "$kver"
    (cd "$st" && find . | cpio -o -H newc --quiet) > "$initramfs.new" && mv "$initramfs.new" "$initramfs"
    rm -rf "$st"
    say "built $initramfs ($(du -h "$initramfs" | cut -f1))"
}

# ---- run / boot -------------------------------------------------------------------------------------

virtfs() {   # TAG PATH [ro]: a 9p share (commas in a path are doubled for QEMU's option parser)
    echo "local,path=${2//,/,,},mount_tag=$1,security_model=none,multidevs=remap${3:+,readonly=on}"
}

vm() {
    local mode="$1"; shift
    local root=/ tmo=600 vivid="n_devs=1 node_types=0x1 input_types=0x0" verbose=0 net="user,id=net0,restrict=on"
    while [ $# -gt 0 ]; do
        case "$1" in
            -p) [[ "${2:-}" =~ ^[0-9]+:[0-9]+$ ]] || die "-p wants HOSTPORT:GUESTPORT, not '${2:-}'"
                net+=",hostfwd=tcp:127.0.0.1:${2%%:*}-:${2#*:}"; shift 2 ;;
            -t) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "-t wants a number of seconds, not '${2:-}'"
                tmo="$2"; shift 2 ;;
            -o) [ $# -ge 2 ] || die "-o wants vivid's options"; vivid="$2"; shift 2 ;;
            --root) [ -d "${2:-}" ] || die "--root: '${2:-}' is not a directory"
                root="$(cd "$2" && pwd)"; shift 2 ;;
            -v) verbose=1; shift ;;
            --) shift; break ;;
            *) die "unknown option '$1' (the command goes after --)" ;;
        esac
    done
    [ $# -gt 0 ] || usage
    [ -x "$root/bin/bash" ] || die "$root has no /bin/bash (the guest runs the command with it)"
    if [ "$mode" = boot ] && [ ! -x "$root/lib/systemd/systemd" ]; then
        die "$root has no /lib/systemd/systemd for boot mode (install systemd in it)"
    fi
    fetch

    ctl="$(mktemp -d "${TMPDIR:-/tmp}/camvm.XXXXXX")"
    echo "$mode" > "$ctl/mode"
    echo "$vivid" > "$ctl/vivid"
    {
        echo "cut -d' ' -f1 /proc/uptime > /camvm/started"
        if [ "$root" = / ]; then
            printf 'cd %q || exit 125\n' "$PWD"
        else
            echo "cd /"
        fi
        printf 'exec'; printf ' %q' "$@"; echo
    } > "$ctl/cmd.sh"

    say "booting kernel $kver under TCG ($mode mode, root $root)"
    timeout -k 5 "$tmo" qemu-system-x86_64 -M pc -accel tcg,thread=multi -cpu max -smp 2 -m 1024 \
        -nodefaults -no-reboot -display none -monitor none \
        -kernel "$cache/kernel/vmlinux" -initrd "$initramfs" \
        -append "console=ttyS0 quiet loglevel=4 panic=-1" \
        -serial "file:$ctl/console.log" -chardev stdio,id=out,signal=off -serial chardev:out \
        -virtfs "$(virtfs root "$root" ro)" \
        -virtfs "$(virtfs modules "$cache/kernel/lib/modules/$kver" ro)" \
        -virtfs "$(virtfs ctl "$ctl")" \
        -netdev "$net" -device virtio-net-pci,netdev=net0,romfile= < /dev/null &
    qemu=$!
    # A background job of a script ignores SIGINT: pass INT and TERM on (timeout passes them to QEMU).
    trap 'interrupted=1; kill -TERM "$qemu" 2> /dev/null' INT TERM
    local started=0 qrc=0
    while kill -0 "$qemu" 2> /dev/null; do
        if [ "$started" = 0 ] && [ -s "$ctl/started" ]; then
            started=1; say "command started (guest uptime $(cat "$ctl/started") s)"
        fi
        sleep 0.2
    done
    wait "$qemu" || qrc=$?
    [ "$verbose" = 0 ] || sed 's/^/[console] /' "$ctl/console.log" >&2
    [ -z "${interrupted:-}" ] || { say "interrupted: VM stopped"; exit 143; }
    if [ -s "$ctl/rc" ]; then
        local rc; rc="$(cat "$ctl/rc")"
        say "command exited with status $rc; VM off"
        exit "$rc"
    fi
    local why="QEMU exited with status $qrc"
    [ "$qrc" != 124 ] || why="the -t $tmo s limit expired"
    if [ -s "$ctl/started" ]; then
        say "the command started but no result came back: $why; the guest console ends:"
        tail -n 20 "$ctl/console.log" >&2
        exit 4
    fi
    say "the VM never started the command: $why; the guest console ends:"
    tail -n 30 "$ctl/console.log" >&2 2> /dev/null || true
    exit 3
}

cleanup() {
    [ -z "${qemu:-}" ] || kill -TERM "$qemu" 2> /dev/null || true
    [ -z "${ctl:-}" ] || rm -rf "$ctl"
}
trap cleanup EXIT

# ---- selftest: the features camd's tests rely on, each checked for its real outcome -----------------

selftest() {
    local root=() failed=0 out rc port vm
    [ "${1:-}" != --root ] || root=(--root "$2")
    check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; failed=$((failed + 1)); fi; }
    fetch
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    out="$(mktemp)"
    # run: a real ioctl on vivid's node, then one TCP answer through the forwarded port, then exit 7.
    "${BASH_SOURCE[0]}" run -t 300 -p "$port:8000" -- python3 -c '
import fcntl, os, socket
cap = bytearray(104)   # struct v4l2_capability; VIDIOC_QUERYCAP = _IOR("V", 0, 104 bytes)
with open("/dev/video0", "rb", buffering=0) as dev:
    fcntl.ioctl(dev, 0x80685600, cap)
name = lambda at, n: bytes(cap[at:at + n]).split(b"\0")[0].decode()
print(f"VIDIOC_QUERYCAP driver={name(0, 16)} card={name(16, 32)} cwd={os.getcwd()}", flush=True)
server = socket.create_server(("0.0.0.0", 8000))
conn, peer = server.accept()
conn.sendall(f"hello from {name(0, 16)}\n".encode())
conn.close()
raise SystemExit(7)' > "$out" &
    vm=$!
    local answer=""
    for _ in $(seq 1 600); do   # up to 5 min: the port answers once the guest is listening
        answer="$(python3 -c 'import socket, sys
try:
    print(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).recv(100).decode().strip())
except OSError: pass' "$port")" || true
        if [ -n "$answer" ] || ! kill -0 "$vm" 2> /dev/null; then break; fi
        sleep 0.5
    done
    rc=0; wait "$vm" || rc=$?
    check "run: exit status 7 of the command came back" '[ "$rc" = 7 ]'
    check "run: VIDIOC_QUERYCAP on /dev/video0 answered by vivid, cwd kept: $(cat "$out")" \
        'grep -q "driver=vivid .* cwd=$PWD\$" "$out"'
    check "run: -p $port:8000 reached the guest: '$answer'" '[ "$answer" = "hello from vivid" ]'
    rc=0; "${BASH_SOURCE[0]}" boot -t 300 "${root[@]}" -- sh -c \
        'echo "pid1=$(cat /proc/1/comm) video0=$(cat /sys/class/video4linux/video0/name)"; exit 5' > "$out" || rc=$?
    check "boot${root:+ ${root[*]}}: systemd is PID 1, vivid's node is there: $(cat "$out")" \
        'grep -q "^pid1=systemd video0=vivid" "$out"'
    check "boot: exit status 5 came back" '[ "$rc" = 5 ]'
    rc=0; "${BASH_SOURCE[0]}" run -t 1 -- true 2> /dev/null || rc=$?
    check "a VM that cannot start the command in time ends with status 3" '[ "$rc" = 3 ]'
    rm -f "$out"
    echo "camvm selftest: $((6 - failed)) passed, $failed failed"
    [ "$failed" = 0 ] || exit 1
}

case "${1:-}" in
    run) shift; vm run "$@" ;;
    boot) shift; vm boot "$@" ;;
    selftest) shift; selftest "$@" ;;
    fetch) fetch; say "cached in $cache (kernel $kver)" ;;
    *) usage ;;
esac
