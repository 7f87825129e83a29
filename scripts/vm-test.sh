#!/usr/bin/env bash
# camd against a real V4L2 driver: boots tests/vm/camvm.sh's VM (Debian's kernel with the vivid virtual
# camera), runs the built camd inside it on /dev/video0, and checks from the host that camview receives
# frames that decode. Needs qemu-system-x86, kmod and cpio (scripts/deps.sh test installs them).
# Exit: 0 passed (or skipped with CAMD_SKIP_VM=1); 1 camd failed the check, or the VM did not start camd.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${CAMD_SKIP_VM:-}" = 1 ]; then echo "vm: skipped (CAMD_SKIP_VM=1)"; exit 0; fi
bin="$(swift build --show-bin-path)"
# A free loopback port for qemu's forward (a fixed one can be taken by another test or a running camd).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out="$(mktemp -d)"
echo "==> vm: booting a VM with vivid and running camd in it (about 30 s under TCG)"
tests/vm/camvm.sh run -t 300 -p "$port:9999" -- "$bin/camd" --source v4l2:/dev/video0 --width 320 --height 180 \
    --fps 30 --stats-interval 5 > "$out/vm.log" 2>&1 &
vm=$!
trap 'kill -TERM $vm 2>/dev/null; wait $vm 2>/dev/null; rm -rf "$out"' EXIT

ok=0
for _ in $(seq 1 150); do
    if ! kill -0 "$vm" 2>/dev/null; then break; fi
    if "$bin/camview" "tcp://127.0.0.1:$port" --stats --frames 30 --timeout 10 > "$out/camview.log" 2>&1; then ok=1; break; fi
    sleep 1
done
if [ "$ok" != 1 ]; then
    if grep -q "native viewers" "$out/vm.log"; then
        echo "vm: FAILED: camd ran in the VM but camview received no frames"; cat "$out/vm.log" "$out/camview.log"
        echo "0 passed, 1 failed"; exit 1
    fi
    rc=0; wait "$vm" || rc=$?
    echo "vm: FAILED: the VM did not start camd (camvm.sh exit $rc; 3: no boot, 4: no result in time)"
    tail -30 "$out/vm.log"
    echo "0 passed, 1 failed"; exit 1
fi
"$bin/camview" "tcp://127.0.0.1:$port" --snapshot "$out/vivid.jpg" --timeout 10 > /dev/null
if djpeg "$out/vivid.jpg" > "$out/vivid.ppm" 2> "$out/djpeg.log" && head -c 16 "$out/vivid.ppm" | tr '\n' ' ' | grep -q "P6 320 180"; then
    cat "$out/camview.log"
    grep -E "opened camera|summary" "$out/vm.log" | head -3
    echo "vm: camd in the VM streamed vivid's /dev/video0; the host decoded a 320x180 frame"
    echo "1 passed, 0 failed"
    exit 0
fi
echo "vm: FAILED: the snapshot did not decode to 320x180"; cat "$out/djpeg.log" "$out/vm.log"
echo "0 passed, 1 failed"
exit 1
