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

# generate-manual is a tool of the swift-argument-parser package camd already resolved (a checkout, offline); it
# runs a binary with --experimental-dump-help and renders that as mdoc. Its own scratch folder keeps it out of
# camd's build.
argument_parser=.build/checkouts/swift-argument-parser
[ -d "$argument_parser" ] || swift package resolve >/dev/null
swift build -c release --package-path "$argument_parser" --scratch-path .build/manual-tools \
    --product generate-manual >/dev/null
generate=.build/manual-tools/release/generate-manual
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for page in camd:8 camctl:1 camview:1; do
    name="${page%:*}" section="${page#*:}"
    "$generate" "$bin/$name" --section "$section" --date "$date" --authors "the camd authors" -o "$work"
    # One page per program (subcommands are sections of camctl's page); drop the generator's .Dd/.Os noise
    # by naming the version: ".Os camd VERSION".
    sed "s/^\.Os.*/.Os camd $version/" "$work/$name.$section" > "$out/$name.$section"
done

swift build "${flags[@]}" --product configmanual >/dev/null
"$(swift build "${flags[@]}" --show-bin-path)/configmanual" config/camd.toml "$version" "$date" > "$out/camd.toml.5"
echo "man.sh: wrote $out/camd.8 camctl.1 camview.1 camd.toml.5 (camd $version, $date)"
