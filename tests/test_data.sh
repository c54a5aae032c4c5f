#!/usr/bin/env bash
# tests/test_data.sh — scripts/data.sh: idempotent and quick on a complete data/, and each kind
# of damage reported with the file and the reason. Damaged copies live in a temporary DIR passed
# to data.sh (the checkout's data/ is only read). Skips (77) when data/ has not been fetched.
set -u
cd "$(dirname "$0")/.." || exit 1
fails=0 checks=0
check() { # check DESCRIPTION COMMAND...
    checks=$((checks + 1))
    if ! "${@:2}"; then echo "FAIL: $1" >&2; fails=$((fails + 1)); fi
}

if [[ ! -f data/mnist/train-images-idx3-ubyte && ! -f data/mnist/train-images-idx3-ubyte.gz ]]; then
    echo "skip: data/mnist/ not fetched (run \`make data\`)"
    exit 77
fi

# 1. a complete data/: success, both sets ok, nothing fetched
start=$(date +%s.%N)
out=$(scripts/data.sh 2>&1); rc=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "$out"
check "data.sh on a complete data/ exits 0 (got $rc)" test "$rc" -eq 0
check "mnist ok" grep -q '^data: mnist .* ok: train 60000, test 10000, 28x28' <<<"$out"
check "fashion-mnist ok" grep -q '^data: fashion-mnist .* ok: train 60000, test 10000, 28x28 (gzip)' <<<"$out"
check "no fetch on a complete data/" bash -c '! grep -q fetching <<<"$1"' _ "$out"
# the time is reported, not asserted (a loaded machine is slow; "nothing fetched" is the property)
echo "data.sh on a complete data/: ${secs}s"

# 2. damaged copies in a temporary root
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aelab-test-data.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
src=$(cd data/mnist && pwd)
fresh() { # a root whose mnist/ links to the real files, except those then replaced
    rm -rf -- "$tmp/root"
    mkdir -p "$tmp/root/mnist"
    local f
    for f in "$src"/*; do ln -s "$f" "$tmp/root/mnist/$(basename "$f")"; done
}
expect_failure() { # expect_failure DESCRIPTION EXPECTED-STDERR-LINE
    local out rc
    out=$(scripts/data.sh "$tmp/root" 2>&1 >/dev/null); rc=$?
    check "$1: exit 1 (got $rc)" test "$rc" -eq 1
    if ! grep -qxF -- "$2" <<<"$out"; then
        echo "FAIL: $1: stderr lacks the line" >&2
        echo "   want: $2" >&2
        echo "$out" | sed 's/^/    got: /' >&2
        fails=$((fails + 1))
    fi
    checks=$((checks + 1))
}
lab=$tmp/root/mnist/train-labels-idx1-ubyte
img=$tmp/root/mnist/t10k-images-idx3-ubyte

fresh
rm "$lab" && head -c 8 "$src/t10k-images-idx3-ubyte" >"$lab"
expect_failure "images header in a labels file" \
    "data: FAILED $lab: bad magic 0x00000803 at byte 0, expected 0x00000801 (idx1 labels)"

fresh
rm "$lab" && { printf '\x00\x00\x08\x01\x00\x00\xea\x5f'; tail -c +9 "$src/train-labels-idx1-ubyte"; } >"$lab"
expect_failure "wrong count" "data: FAILED $lab: count 59999 at byte 4, expected 60000"

fresh
rm "$img" && head -c 1016 "$src/t10k-images-idx3-ubyte" >"$img"
expect_failure "truncated images" "data: FAILED $img: size 1016, expected 7840016"

fresh
rm "$img" && { printf '\x00\x00\x08\x03\x00\x00\x27\x10\x00\x00\x00\x1c\x00\x00\x00\x1d'; } >"$img"
expect_failure "wrong shape" "data: FAILED $img: image shape 28x29 at byte 8, expected 28x28"

fresh
rm "$img" && printf '\x00\x00\x08' >"$img"
expect_failure "short header" "data: FAILED $img: truncated header: 3 bytes, expected 16"

fz=/usr/share/datasets/fashion-mnist
if [[ -f $fz/t10k-labels-idx1-ubyte.gz ]]; then
    fresh
    mkdir -p "$tmp/root/fashion-mnist"
    for f in "$fz"/*.gz; do ln -s "$f" "$tmp/root/fashion-mnist/"; done
    gzl=$tmp/root/fashion-mnist/t10k-labels-idx1-ubyte.gz
    rm "$gzl" && head -c 3000 "$fz/t10k-labels-idx1-ubyte.gz" >"$gzl"
    out=$(scripts/data.sh "$tmp/root" 2>&1 >/dev/null); rc=$?
    check "truncated gzip: exit 1 (got $rc)" test "$rc" -eq 1
    check "truncated gzip: named" grep -qxF "data: FAILED $gzl: damaged gzip file: unexpected end of file" <<<"$out"
    # a gzip stream whose content is short: the trailer's size gives it away
    rm "$gzl" && head -c 5000 "$src/t10k-labels-idx1-ubyte" | gzip -c >"$gzl"
    expect_failure "short gzip content" \
        "data: FAILED $gzl: size 5000 (decompressed, from the gzip trailer), expected 10008"
fi

# 3. `aelab check` on the data sets: every file held against its header without loading it
# (runner/datacheck.c, datacheck_files): the complete sets pass, a damaged copy is named with
# the expected and found byte counts, or the gzip damage, and the config position
AELAB=${AELAB:-bin/aelab}
if [[ -x $AELAB ]]; then
    cfg=$tmp/check.yaml
    ds_config() { # ds_config NAME: a config on data set NAME
        printf 'name: data-check\npipeline:\n  - load_dataset: {name: %s}\n  - pretrain_layer: {units: 8, optimizer: {name: sgd, lr: 0.1}, epochs: 1}\n' "$1" >"$cfg"
    }
    expect_check() { # expect_check DESCRIPTION DATASET EXPECTED-STDERR-LINE (without the position)
        local out rc
        ds_config "$2"
        out=$(AELAB_DATA=$tmp/root "$AELAB" check "$cfg" 2>&1 >/dev/null); rc=$?
        check "$1: exit 2 (got $rc)" test "$rc" -eq 2
        if ! grep -qxF -- "$3 (the data set of load_dataset at $cfg:3:5)" <<<"$out"; then
            echo "FAIL: $1: stderr lacks the line" >&2
            echo "   want: $3 (the data set of load_dataset at $cfg:3:5)" >&2
            echo "$out" | sed 's/^/    got: /' >&2
            fails=$((fails + 1))
        fi
        checks=$((checks + 1))
    }
    fresh
    for set in mnist fashion-mnist; do
        [[ $set == fashion-mnist && ! -d $fz ]] && continue
        if [[ $set == fashion-mnist ]]; then
            mkdir -p "$tmp/root/fashion-mnist"
            for f in "$fz"/*.gz; do ln -sf "$f" "$tmp/root/fashion-mnist/"; done
        fi
        ds_config "$set"
        start=$(date +%s.%N)
        AELAB_DATA=$tmp/root "$AELAB" check "$cfg" >/dev/null 2>"$tmp/check.err"; rc=$?
        secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
        check "aelab check on the complete $set exits 0 (got $rc: $(head -c 300 "$tmp/check.err"))" test "$rc" -eq 0
        echo "aelab check on $set (every file against its header): ${secs}s"
    done

    rm "$img" && head -c 1016 "$src/t10k-images-idx3-ubyte" >"$img"
    expect_check "check: truncated test images" mnist \
        "$img: error: truncated: expected 7840016 bytes (16-byte header + 10000 x 28 x 28), found 1016"
    fresh
    rm "$lab" && { cat "$src/train-labels-idx1-ubyte"; printf 'extra'; } >"$lab"
    expect_check "check: training labels with extra bytes" mnist \
        "$lab: error: 5 trailing bytes after byte 60008: expected 60008 bytes, found 60013"
    fresh
    rm "$img" && { printf '\x00\x00\x08\x03\x00\x00\x27\x0f\x00\x00\x00\x1c\x00\x00\x00\x1c'; tail -c +17 "$src/t10k-images-idx3-ubyte"; } >"$img"
    expect_check "check: a header one image short of the data" mnist \
        "$img: error: 784 trailing bytes after byte 7839232: expected 7839232 bytes, found 7840016"
    if [[ -f $fz/t10k-labels-idx1-ubyte.gz ]]; then
        fresh
        mkdir -p "$tmp/root/fashion-mnist"
        for f in "$fz"/*.gz; do ln -s "$f" "$tmp/root/fashion-mnist/"; done
        gzl=$tmp/root/fashion-mnist/t10k-labels-idx1-ubyte.gz
        gzi=$tmp/root/fashion-mnist/train-images-idx3-ubyte.gz
        rm "$gzl" && head -c 3000 "$fz/t10k-labels-idx1-ubyte.gz" >"$gzl"
        expect_check "check: truncated gzip labels" fashion-mnist \
            "$gzl: error: damaged gzip stream: compressed data ends early (truncated .gz file?)"
        rm "$gzl" && head -c 5000 "$src/t10k-labels-idx1-ubyte" | gzip -c >"$gzl"
        expect_check "check: short gzip content" fashion-mnist \
            "$gzl: error: truncated: expected 10008 bytes (decompressed) (8-byte header + 10000), found 5000"
        rm "$gzl" && ln -s "$fz/t10k-labels-idx1-ubyte.gz" "$gzl"
        rm "$gzi" && { cat "$fz/train-images-idx3-ubyte.gz"; printf 'trailing garbage'; } >"$gzi"
        expect_check "check: trailing garbage after the gzip stream" fashion-mnist \
            "$gzi: error: trailing garbage after the gzip stream: 16 bytes at byte $(stat -L -c %s "$fz/train-images-idx3-ubyte.gz") of the file (after 1 member, 47040016 bytes decompressed) are not another gzip member"
        # two members (as `cat a.gz b.gz` makes) are one stream: check and load accept them
        rm "$gzi" && { head -c 20000016 <(gzip -dc "$fz/train-images-idx3-ubyte.gz") | gzip -1 -c; tail -c +20000017 <(gzip -dc "$fz/train-images-idx3-ubyte.gz") | gzip -1 -c; } >"$gzi"
        ds_config fashion-mnist
        AELAB_DATA=$tmp/root "$AELAB" check "$cfg" >/dev/null 2>"$tmp/check.err"; rc=$?
        check "check: two-member gzip images pass (got $rc: $(head -c 300 "$tmp/check.err"))" test "$rc" -eq 0
    fi
else
    echo "note: $AELAB not built: the aelab check cases are left out"
fi

echo "test_data: $checks checks, $fails failed"
[[ $fails -eq 0 ]]
