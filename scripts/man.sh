#!/usr/bin/env bash
# Writes camd's manuals into OUTDIR: camd.8, camctl.1 and camview.1 from the built binaries' own --help (their
# ArgumentParser definitions, read with swift-argument-parser's generate-manual tool), and camd.toml.5 from the
# key table and config/camd.toml's comments (packaging/configmanual). scripts/deb.sh runs it at package time,
# so the pages always describe the binaries they ship with.
#
#   scripts/man.sh OUTDIR [BINDIR]   BINDIR: where camd, camctl and camview are (default: the release build)
# Environment: MAN_DATE (YYYY-MM-DD; default: the date of the newest packaging/debian/changelog entry).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/man.sh OUTDIR [BINDIR]}"
bin="${2:-.build/release}"
[ -d "$out" ] || { echo "man.sh: $out is not a directory" >&2; exit 1; }
for p in camd camctl camview; do
    [ -x "$bin/$p" ] || { echo "man.sh: no $p in $bin (build it: swift build -c release --product $p)" >&2; exit 1; }
done
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"

date="${MAN_DATE:-$(date -u -d "$(sed -n 's/^ -- .*>  //p' packaging/debian/changelog | head -1)" +%F)}"
version="$("$bin/camd" --version)"
# The same build as scripts/deb.sh's (its flags), so configmanual shares its modules.
flags=(-c release --static-swift-stdlib -Xswiftc -use-ld=lld)

# generate-manual is a tool of the swift-argument-parser package camd already depends on; it runs a binary with
# --experimental-dump-help and renders that as mdoc. It is built as a product of camd's own release build (the same
# flags as deb.sh's), so it reuses the ArgumentParser module camd's build just compiled: its own package's build
# (a scratch folder of its own, as before) compiled ArgumentParser a second time, about a minute in CI.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
swift build "${flags[@]}" --product generate-manual > "$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; echo "man.sh: building generate-manual failed" >&2; exit 1; }
generate="$(swift build "${flags[@]}" --show-bin-path)/generate-manual"
# What the generator cannot know: the files and the other pages.
see_also() {
    local others=() p
    for p in "camd 8" "camctl 1" "camview 1" "camd.toml 5"; do [ "${p% *}" = "$1" ] || others+=("$p"); done
    if [ "$1" = camd ]; then
        printf '%s\n' .Sh\ FILES ".Bl -tag -width Ds" ".It Pa /etc/camd/camd.toml" \
            "The configuration camd reads when started without \\-\\-config; see camd.toml(5)." \
            ".It Pa /run/camd/control" "The control socket (control_socket) that camctl(1) talks to." .El
    fi
    if [ "$1" = camctl ]; then
        printf '%s\n' .Sh\ FILES ".Bl -tag -width Ds" ".It Pa /run/camd/control" "The control socket of camd.service, the default camd." \
            ".It Pa /run/camd/NAME.control" "The control socket of the instance camd@NAME.service (\\-\\-instance NAME)." \
            ".It Pa /etc/camd/NAME.toml" "The configuration camd@NAME.service reads; camctl instances lists the ones not running." .El
    fi
    echo ".Sh SEE ALSO"
    for p in "${others[@]}"; do echo ".Xr $p ,"; done
    echo ".Xr systemctl 1"
}
for page in camd:8 camctl:1 camview:1; do
    name="${page%:*}" section="${page#*:}"
    "$generate" "$bin/$name" --section "$section" --date "$date" --authors "the camd authors" -o "$work"
    # One page per program (camctl's subcommands are sections of its page). Fixed up: ArgumentParser's implicit
    # `help` subcommand is left out (camd and camview have no other, so their synopsis loses "subcommand"
    # too); an empty line (a paragraph break in a discussion) becomes .Pp, which mdoc wants; .Os names camd's
    # version; FILES and SEE ALSO go before AUTHORS.
    awk -v version="$version" -v nosub="$([ "$name" = camctl ] && echo 0 || echo 1)" -v extra="$(see_also "$name")" '
        /^\.It Em help$/ { skip = 1; next }
        skip && /^\.El$/ { skip = 0; next }
        skip { next }
        /^$/ { print ".Pp"; next }
        /^\.Os/ { print ".Os camd " version; next }
        nosub && /^\.Ar subcommand$/ { next }
        /^\.Sh AUTHORS/ { print extra }
        { print }' "$work/$name.$section" > "$out/$name.$section"
    ! grep -q '^\.It Em help$' "$out/$name.$section" || { echo "man.sh: $name.$section still lists help" >&2; exit 1; }
done

swift build "${flags[@]}" --product configmanual > "$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; echo "man.sh: building configmanual failed" >&2; exit 1; }
"$(swift build "${flags[@]}" --show-bin-path)/configmanual" config/camd.toml "$version" "$date" > "$out/camd.toml.5"
echo "man.sh: wrote $out/camd.8 camctl.1 camview.1 camd.toml.5 (camd $version, $date)"
