#!/usr/bin/env bash
# Builds the Debian package dist/camd_VERSION_ARCH.deb: camd, camctl and camview (release builds with the Swift
# runtime linked in: --static-swift-stdlib), the units, /etc/camd/camd.toml as a conffile, the camd user
# (systemd-sysusers), manuals and shell completions. Packaging: packaging/debian (debhelper); README, "Installing
# the Debian package".
#
#   scripts/deb.sh                  # dist/camd_0.1.0-1_amd64.deb
#   DEB_REVISION=2 scripts/deb.sh   # the same program as package revision 2 (camd_0.1.0-2_amd64.deb)
#
# VERSION is UPSTREAM-REVISION: UPSTREAM is what the built camd --version prints (CamdVersion in
# Sources/Service/Daemon.swift), REVISION the package's own (DEB_REVISION, default 1). When that is not the
# newest entry of packaging/debian/changelog, the package gets an entry saying which git commit it was built from.
# Environment: DEB_REVISION; DEB_NO_BUILD=1 packages the binaries already built (no swift build);
# CAMD_DEB_COMPRESS=zstd (or gzip) instead of xz, CAMD_DEB_LEVEL=N its level (dpkg-deb -zN), for test packages;
# CAMD_H264=0 a camd without the H.264 encoder (no libavcodec; README "Licence").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
camd_apt_install debhelper dpkg-dev fakeroot
t0=$SECONDS

# lld, as fuzz.sh and sanitize.sh use: GNU ld prints glibc's link-time warning about mktemp, which the static
# FoundationEssentials references (Data's temporary files; camd does not call it), into every build.
flags=(-c release --static-swift-stdlib -Xswiftc -use-ld=lld)
if [ "${DEB_NO_BUILD:-0}" != 1 ]; then
    for p in camd camctl camview; do
        echo "==> building $p (release, Swift runtime linked statically)"
        swift build "${flags[@]}" --product "$p"
    done
fi
bin="$(swift build "${flags[@]}" --show-bin-path)"
echo "==> binaries ready ($((SECONDS - t0)) s)"

# dpkg-shlibdeps can map only Debian's libraries to packages: the toolchain in /opt/swift is none.
for p in camd camctl camview; do
    [ -x "$bin/$p" ] || { echo "deb.sh: no $p in $bin" >&2; exit 1; }
    if ldd "$bin/$p" | grep -E 'libswift|libFoundation|libdispatch|/opt/swift|not found'; then
        echo "deb.sh: $p needs a library that is not a Debian package (above); build with --static-swift-stdlib" >&2
        exit 1
    fi
done

upstream="$("$bin/camd" --version)"
revision="${DEB_REVISION:-1}"
version="$upstream-$revision"
arch="$(dpkg --print-architecture)"
[[ "$upstream" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "deb.sh: camd --version printed \"$upstream\", not a version" >&2; exit 1; }
[[ "$revision" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "deb.sh: DEB_REVISION=\"$revision\" is not a Debian revision" >&2; exit 1; }

# A source tree of what goes into the package; debian/rules only places it (see there).
build=dist/build
stage="$build/camd-$version"
rm -rf "$build"
mkdir -p "$stage"/{bin,units,etc/camd,man,completions/bash,completions/zsh,completions/fish,docs}
for p in camd camctl camview; do
    install -m 0755 "$bin/$p" "$stage/bin/$p"
    # ArgumentParser's own completion scripts: they complete the flags, subcommands and file arguments.
    # bash-completion sources these files: no #! line (lintian: bash-completion-with-hashbang).
    "$bin/$p" --generate-completion-script bash | sed '1{/^#!/d}' > "$stage/completions/bash/$p"
    "$bin/$p" --generate-completion-script zsh > "$stage/completions/zsh/_$p"
    "$bin/$p" --generate-completion-script fish > "$stage/completions/fish/$p.fish"
done
for u in camd.service camd@.service camd.socket camd-http.socket; do
    sed -e 's|/usr/local/bin/|/usr/bin/|g' \
        -e 's|^Documentation=.*|Documentation=man:camd(8) man:camd.toml(5)|' \
        -e 's|Install with scripts/install.sh; see README "Running as a service"|Installed by the camd Debian package|' \
        -e 's|Install with scripts/install.sh; see$|Installed by the camd Debian package; see|' \
        -e 's|made by scripts/install.sh|made by the package (systemd-sysusers)|' "systemd/$u" > "$stage/units/$u"
done
# As install.sh does: the service's own group may use camctl (usermod -aG camd alice).
sed 's/^control_group = ""$/control_group = "camd"/' config/camd.toml > "$stage/etc/camd/camd.toml"
grep -q '^control_group = "camd"$' "$stage/etc/camd/camd.toml" || { echo "deb.sh: config/camd.toml has no control_group = \"\" line" >&2; exit 1; }
scripts/man.sh "$stage/man" "$bin"
echo "==> manuals written ($((SECONDS - t0)) s)"
cp README.md "$stage/"
cp docs/PROTOCOL.md "$stage/docs/"
cp -r packaging/debian "$stage/debian"

top="$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)"
if [ "$top" != "$version" ]; then
    commit="$(git describe --always --dirty 2>/dev/null || echo unknown)"
    { printf 'camd (%s) bookworm; urgency=medium\n\n  * Built by scripts/deb.sh from git %s.\n\n -- The camd authors <camd@example.org>  %s\n\n' \
        "$version" "$commit" "$(date -u -R)"; cat packaging/debian/changelog; } > "$stage/debian/changelog"
fi

echo "==> packaging camd $version ($arch)"
# CAMD_H264=0 (a camd without the H.264 encoder, README "Licence"): the build profile drops libavcodec-dev and
# libavutil-dev from Build-Depends; dpkg-shlibdeps then finds no libavcodec in the binaries either.
profiles=(); [ "${CAMD_H264:-1}" != 0 ] || profiles=(--build-profiles=pkg.camd.noh264)
(cd "$stage" && DH_VERBOSE=1 CAMD_DEB_COMPRESS="${CAMD_DEB_COMPRESS:-xz}" CAMD_DEB_LEVEL="${CAMD_DEB_LEVEL:-}" dpkg-buildpackage -b -us -uc --no-pre-clean "${profiles[@]}" >"../dpkg-buildpackage.log" 2>&1) || {
    cat "$build/dpkg-buildpackage.log" >&2; echo "deb.sh: dpkg-buildpackage failed (above)" >&2; exit 1; }
mkdir -p dist
deb="dist/camd_${version}_${arch}.deb"
mv "$build/camd_${version}_${arch}.deb" "$deb"
echo "deb.sh: $deb ($(du -k "$deb" | cut -f1) KiB, $((SECONDS - t0)) s); Depends: $(dpkg-deb -f "$deb" Depends)"
