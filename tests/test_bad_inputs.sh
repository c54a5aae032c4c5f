#!/usr/bin/env bash
# tests/test_bad_inputs.sh — the bad-input catalogue (issue 8): every case runs bin/aelab on one
# broken input and checks the exit code and the exact diagnostic. tests/bad_configs/ holds the
# config-language errors (tests/test_bad_configs.sh); this file holds the rest: damaged data
# files (IDX, gzip, CSV), config files that are not text, command-line mistakes, output
# directories that cannot be written, damaged checkpoints met by `run --resume` and by the stage
# cache, a disk that fills mid-run, a loss that becomes NaN, and the fuzzers' reproducers.
# Every refusal of the checkpoint reader itself is in tests/test_bad_checkpoints.c (and
# tests/test_checkpoint.c).
#
# A case:   bad NAME EXIT 'LINE' ['LINE'...] -- COMMAND ARGS...
#   EXIT    the exit code wanted.
#   LINE    a line stderr must contain, exactly; a LINE starting with '~' is an extended regular
#           expression for the whole line instead, used only where the text depends on the OS
#           or on a value the test cannot know (the pattern says which part).
#   COMMAND usually `aelab` (bin/aelab, through $AELAB_WRAP when set), or a wrapper that sets up
#           the environment first: with_ulimit_f, in_tmpfs, in_ro_bind (below).
# Every case also checks, whatever its LINEs:
#   - stderr holds nothing but the LINEs and these known companions: "aelab: note: results
#     written so far are in DIR/", the "(see 'aelab CMD --help')" hint, main.c's summary
#     "aelab run|check: N errors in FILE"; any other line fails the case (a message split over
#     two lines, a stray warning);
#   - no stderr line says "error:" twice (a prefix added to a message that had one);
#   - stdout is empty (it carries requested output only);
#   - for a run with an output directory (--out DIR, or CHECK_DIR=DIR before `bad`): no temp
#     file (*.tmp*) is left in it, and every *.csv in it parses (tests/bad_inputs/csvcheck.c);
#     ROWS='FILE:N ...' before `bad` also requires exactly N data rows in DIR/FILE;
#   - ALLOW='REGEX' before `bad` admits other stderr lines matching it (progress lines of a run
#     without -q, where a warning is the point of the case).
# Usage: AELAB=bin/aelab tests/test_bad_inputs.sh [NAME_PATTERN]   (a glob: only those cases)
#   AELAB_WRAP  a command prefix for every aelab call, "{name}" replaced by the case's name
#               (tests/valgrind.sh: valgrind ... --log-file=DIR/{name}.%p.log)
# Exit 0 when every case passes, 1 otherwise, 77 when bin/aelab is not built. The last line is
# "test_bad_inputs: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 2
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then
    echo "skip: $AELAB is not built"
    exit 77
fi
AELAB=$(realpath "$AELAB")
ONLY=${1:-*}
. tests/bad_inputs/gen.sh
T=$(mktemp -d /tmp/aelab-bad-XXXXXX)
trap 'rm -rf "$T"' EXIT
# the binary's self re-exec (runner/main.c, prefer_avx2_kernels) would escape a wrapper
export AELAB_NO_REEXEC=1
: "${AELAB_DATA:=$PWD/data}"
export AELAB_DATA

pass=0 fail=0 skipped=()

# ---- helpers ----
CC=${CC:-gcc}
if ! "$CC" -std=c11 -D_GNU_SOURCE -O1 -Iengine -Irunner -o "$T/csvcheck" tests/bad_inputs/csvcheck.c \
        runner/csvout.c runner/fsutil.c runner/xalloc.c engine/common.c -lcsv -lm 2>"$T/csvcheck.log"; then
    echo "test_bad_inputs: cannot build tests/bad_inputs/csvcheck.c:"; cat "$T/csvcheck.log"
    echo "test_bad_inputs: 0 passed, 1 failed"
    exit 1
fi

if ! "$CC" -std=c11 -O2 -o "$T/gzbomb" tests/bad_inputs/gzbomb.c -lz 2>"$T/gzbomb.log"; then
    echo "test_bad_inputs: cannot build tests/bad_inputs/gzbomb.c:"; cat "$T/gzbomb.log"
    echo "test_bad_inputs: 0 passed, 1 failed"
    exit 1
fi

aelab() {
    local wrap=${AELAB_WRAP:-}
    wrap=${wrap//\{name\}/$CASE}
    # shellcheck disable=SC2086
    $wrap "$AELAB" "$@"
}

# with_ulimit_f BLOCKS CMD...: CMD with files limited to BLOCKS KiB; SIGXFSZ ignored, so a write
# past the limit fails with EFBIG ("File too large") as a full disk fails with ENOSPC.
with_ulimit_f() {
    local blocks=$1
    shift
    (trap '' XFSZ; ulimit -f "$blocks"; "$@")
}

# Mount namespaces (unshare -m, root): a real full disk and a real read-only file system.
# Where they are not allowed, those cases are skipped, and say so.
can_unshare=0
if unshare -m true 2>/dev/null && unshare -m sh -c "mkdir -p '$T/probe' && mount -t tmpfs -o size=16k tmpfs '$T/probe'" 2>/dev/null; then
    can_unshare=1
fi
export -f aelab
export AELAB CASE=

# in_tmpfs SIZE MOUNTPOINT CMD...: CMD with a fresh tmpfs of SIZE at MOUNTPOINT (private mount
# namespace); afterwards its contents are copied to MOUNTPOINT.after/ for the checks.
in_tmpfs() {
    local size=$1 mp=$2
    shift 2
    mkdir -p "$mp" "$mp.after"
    unshare -m bash -c 'mount -t tmpfs -o "size=$1" tmpfs "$2" || exit 98; mp=$2; shift 2
                        "$@"; rc=$?; cp -a "$mp"/. "$mp.after"/; exit $rc' _ "$size" "$mp" "$@"
}

# in_ro_bind DIR CMD...: CMD with DIR bind-mounted read-only onto itself.
in_ro_bind() {
    local dir=$1
    shift
    mkdir -p "$dir"
    unshare -m bash -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 98; shift
                        "$@"' _ "$dir" "$@"
}
export -f with_ulimit_f

no_stdout() { "$@" >/dev/null; } # a `check` whose plan on stdout is not the point

# with_ulimit_v KIB CMD...: CMD with its address space limited to KIB KiB (ulimit -v): a run
# that allocated or inflated a data set it does not need fails for memory instead of passing.
# Under a wrapper (valgrind: AELAB_WRAP) the limit is left off, since memcheck itself needs
# more address space than that; the cases still show that only the subset is inflated.
with_ulimit_v() {
    local kib=$1
    shift
    if [[ -n ${AELAB_WRAP:-} ]]; then "$@"
    elif [[ $AELAB_ASAN == 1 ]]; then
        # AddressSanitizer reserves terabytes of shadow memory, which ulimit -v forbids: bound
        # the allocations through its own options instead (a refused one returns NULL, as the
        # kernel's refusal would)
        # (and say so in a warning of their own, which is dropped here)
        local err rc
        err=$(mktemp)
        ASAN_OPTIONS="${ASAN_OPTIONS:-}:max_allocation_size_mb=$((kib / 1024)):allocator_may_return_null=1" "$@" 2>"$err"
        rc=$?
        grep -v '^==[0-9]*==WARNING: AddressSanitizer failed to allocate' "$err" >&2
        rm -f "$err"
        return $rc
    else (ulimit -v "$kib"; "$@"); fi
}
AELAB_ASAN=0
ldd "$AELAB" 2>/dev/null | grep -q libasan && AELAB_ASAN=1

KNOWN_COMPANIONS='^(aelab: note: results written so far are in .*/|\(see '"'"'aelab [a-z]* ?--help'"'"'\)|\(run `aelab [a-z]* --help` for the usage\)|aelab (run|check): [0-9]+ errors? in .*)$'

bad() {
    local name=$1 want_rc=$2
    shift 2
    local want=()
    while [[ $# -gt 0 && $1 != -- ]]; do want+=("$1"); shift; done
    shift
    # shellcheck disable=SC2053
    if [[ $name != $ONLY ]]; then return 0; fi
    CASE=$name
    local needs_unshare=0
    [[ $1 == in_tmpfs || $1 == in_ro_bind ]] && needs_unshare=1
    if [[ $needs_unshare -eq 1 && $can_unshare -eq 0 ]]; then
        skipped+=("$name (unshare -m or mount not permitted here)")
        return 0
    fi
    local out=$T/$name.out err=$T/$name.err
    "$@" >"$out" 2>"$err" </dev/null
    local rc=$? why=()
    [[ $rc -eq $want_rc ]] || why+=("exit $rc, want $want_rc")
    local w found line
    for w in "${want[@]}"; do
        if [[ $w == ~* ]]; then grep -Eqx -- "${w:1}" "$err" && found=1 || found=0
        else grep -Fqx -- "$w" "$err" && found=1 || found=0; fi
        [[ $found -eq 1 ]] || why+=("missing stderr line: $w")
    done
    while IFS= read -r line; do
        local ok=0
        for w in "${want[@]}"; do
            if [[ $w == ~* ]]; then [[ $line =~ ^(${w:1})$ ]] && ok=1
            else [[ $line == "$w" ]] && ok=1; fi
        done
        [[ $ok -eq 1 ]] || [[ $line =~ $KNOWN_COMPANIONS ]] ||
            [[ -n ${ALLOW:-} && $line =~ ^(${ALLOW})$ ]] || why+=("unexpected stderr line: $line")
        [[ $line =~ error:.*error: ]] && why+=("'error:' twice in one line: $line")
    done <"$err"
    [[ -s $out ]] && why+=("stdout is not empty: $(head -c 200 "$out")")
    # the output directory, if any
    local dir=${CHECK_DIR:-} a prev=
    if [[ -z $dir ]]; then
        for a in "$@"; do [[ $prev == --out ]] && dir=$a; prev=$a; done
    fi
    if [[ -n $dir && -d $dir ]]; then
        local tmps
        tmps=$(find "$dir" -name '*.tmp*' | head -n 5)
        [[ -z $tmps ]] || why+=("temp files left: $tmps")
        local csvs=()
        while IFS= read -r -d '' a; do csvs+=("$a"); done < <(find "$dir" -name '*.csv' -print0)
        if [[ ${#csvs[@]} -gt 0 ]] && ! "$T/csvcheck" "${csvs[@]}" >"$T/csvcheck.out" 2>&1; then
            why+=("torn CSV: $(head -n 3 "$T/csvcheck.out")")
        fi
        local spec
        for spec in ${ROWS:-}; do
            if ! "$T/csvcheck" -n "${spec#*:}" "$dir/${spec%%:*}" >"$T/csvcheck.out" 2>&1; then
                why+=("$(head -n 1 "$T/csvcheck.out")")
            fi
        done
    elif [[ -n ${ROWS:-} ]]; then
        why+=("no output directory $dir to check ${ROWS}")
    fi
    if [[ ${#why[@]} -eq 0 ]]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name: ${*}"
        printf '    %s\n' "${why[@]}"
        sed 's/^/    stderr: /' "$err" | head -n 8
    fi
}

mnist_ok=0
[[ -f $AELAB_DATA/mnist/train-images-idx3-ubyte || -f $AELAB_DATA/mnist/train-images-idx3-ubyte.gz ]] && mnist_ok=1
# mnist_bad ...: a case that trains on MNIST; skipped (and said so) without the data set
mnist_bad() {
    if [[ $mnist_ok -eq 1 ]]; then bad "$@"; else skipped+=("$1 (MNIST not found under $AELAB_DATA; make data)"); fi
}

D=$T/data O=$T/out C=$T/cfg
mkdir -p "$D" "$O" "$C"

# ==== 1. IDX data files, through `aelab run` on a load_dataset {name: idx} config ===========
# good pair: 100 images of 4x4 (16-byte header + 1600 bytes = 1616), labels 0..9
idx_images "$D/img" 100 4 4
idx_labels "$D/lab" 100
run_idx() { # run_idx NAME IMAGES LABELS [TEST_IMAGES TEST_LABELS [KEYS]]: the command line of a case
    idx_config "$C/$1.yaml" "$1" "$2" "$3" "${4:-}" "${5:-}" "${6:-}"
    echo aelab run "$C/$1.yaml" -q --no-plots --no-cache --device cpu --out "$O/$1"
}
# shellcheck disable=SC2046
{
bad idx_control_ok 0 -- $(run_idx idx_control_ok "$D/img" "$D/lab")

bad idx_images_missing 1 "$D/none-img: error: cannot open: No such file or directory" \
    -- $(run_idx idx_images_missing "$D/none-img" "$D/lab")
bad idx_labels_missing 1 "$D/none-lab: error: cannot open: No such file or directory" \
    -- $(run_idx idx_labels_missing "$D/img" "$D/none-lab")
bad idx_test_images_missing 1 "$D/none-test: error: cannot open: No such file or directory" \
    -- $(run_idx idx_test_images_missing "$D/img" "$D/lab" "$D/none-test" "$D/lab")
mkdir -p "$D/a-directory"
bad idx_images_is_directory 1 "$D/a-directory: error: cannot open: a directory, not a regular file" \
    -- $(run_idx idx_images_is_directory "$D/a-directory" "$D/lab")

: >"$D/empty"
bad idx_images_empty 1 "$D/empty: error: truncated header: expected 16 bytes (idx3 images header), found 0" \
    -- $(run_idx idx_images_empty "$D/empty" "$D/lab")
bad idx_labels_empty 1 "$D/empty: error: truncated header: expected 8 bytes (idx1 labels header), found 0" \
    -- $(run_idx idx_labels_empty "$D/img" "$D/empty")
head -c 6 "$D/img" >"$D/img-hdr6"
bad idx_images_header_cut 1 "$D/img-hdr6: error: truncated header: expected 16 bytes (idx3 images header), found 6" \
    -- $(run_idx idx_images_header_cut "$D/img-hdr6" "$D/lab")
head -c 6 "$D/lab" >"$D/lab-hdr6"
bad idx_labels_header_cut 1 "$D/lab-hdr6: error: truncated header: expected 8 bytes (idx1 labels header), found 6" \
    -- $(run_idx idx_labels_header_cut "$D/img" "$D/lab-hdr6")
head -c 1000 "$D/img" >"$D/img-cut"
bad idx_images_body_truncated 1 "$D/img-cut: error: truncated: expected 1616 bytes (16-byte header + 100 x 4 x 4), found 1000" \
    -- $(run_idx idx_images_body_truncated "$D/img-cut" "$D/lab")
head -c 50 "$D/lab" >"$D/lab-cut"
bad idx_labels_body_truncated 1 "$D/lab-cut: error: truncated: expected 108 bytes (8-byte header + 100), found 50" \
    -- $(run_idx idx_labels_body_truncated "$D/img" "$D/lab-cut")
{ cat "$D/img"; printf 'xyz'; } >"$D/img-trail"
bad idx_images_trailing_bytes 1 "$D/img-trail: error: 3 trailing bytes after byte 1616: expected 1616 bytes, found 1619" \
    -- $(run_idx idx_images_trailing_bytes "$D/img-trail" "$D/lab")

bad idx_labels_given_as_images 1 "$D/lab: error: bad magic 0x00000801 at byte 0, expected 0x00000803 (idx3 images)" \
    -- $(run_idx idx_labels_given_as_images "$D/lab" "$D/lab")
bad idx_images_given_as_labels 1 "$D/img: error: bad magic 0x00000803 at byte 0, expected 0x00000801 (idx1 labels)" \
    -- $(run_idx idx_images_given_as_labels "$D/img" "$D/img")
printf 'P5\n4 4\n255\n%s' "$(pixels 16)" >"$D/image.pgm"
bad idx_images_not_idx_pgm 1 "$D/image.pgm: error: bad magic 0x50350a34 at byte 0, expected 0x00000803 (idx3 images); not an IDX file" \
    -- $(run_idx idx_images_not_idx_pgm "$D/image.pgm" "$D/lab")
idx_header "$D/img-float" 00000d03 100 4 4
pixels 6400 >>"$D/img-float"
bad idx_images_float_elements 1 "$D/img-float: error: unsupported element type 0x0d at byte 2, expected 0x08 (unsigned byte)" \
    -- $(run_idx idx_images_float_elements "$D/img-float" "$D/lab")
idx_header "$D/img-rank2" 00000802 100 16
pixels 1600 >>"$D/img-rank2"
bad idx_images_rank2 1 "$D/img-rank2: error: bad magic 0x00000802 at byte 0, expected 0x00000803 (idx3 images)" \
    -- $(run_idx idx_images_rank2 "$D/img-rank2" "$D/lab")
idx_header "$D/img-n0" 00000803 0 4 4
bad idx_images_zero_count 1 "$D/img-n0: error: dimension 0 is 0 at byte 4, expected > 0" \
    -- $(run_idx idx_images_zero_count "$D/img-n0" "$D/lab")
idx_header "$D/img-rows0" 00000803 100 0 4
bad idx_images_zero_rows 1 "$D/img-rows0: error: dimension 1 is 0 at byte 8, expected > 0" \
    -- $(run_idx idx_images_zero_rows "$D/img-rows0" "$D/lab")
idx_header "$D/img-4e9" 00000803 4000000000 4 4
bad idx_images_implausible_count 1 "$D/img-4e9: error: implausible shape 4000000000 x 4 x 4 at byte 4, limits: 4294967296 bytes, 16777216 features per image" \
    -- $(run_idx idx_images_implausible_count "$D/img-4e9" "$D/lab")
idx_header "$D/img-wide" 00000803 100 65536 65536
bad idx_images_implausible_size 1 "$D/img-wide: error: implausible shape 100 x 65536 x 65536 at byte 4, limits: 4294967296 bytes, 16777216 features per image" \
    -- $(run_idx idx_images_implausible_size "$D/img-wide" "$D/lab")
idx_header "$D/lab-huge" 00000801 3000000000
bad idx_labels_implausible_count 1 "$D/lab-huge: error: implausible count 3000000000 at byte 4, limit 2147483647" \
    -- $(run_idx idx_labels_implausible_count "$D/img" "$D/lab-huge")

# a labels file that does not match its images
idx_labels "$D/lab99" 99
bad idx_label_count_mismatch 1 "$D/lab99: error: count mismatch: 99 labels at byte 4, expected 100 (the number of images in $D/img)" \
    -- $(run_idx idx_label_count_mismatch "$D/img" "$D/lab99")
cp "$D/lab" "$D/lab-200"
poke "$D/lab-200" 57 c8
bad idx_label_out_of_range 1 "$D/lab-200: error: label 200 at byte 57 out of range, expected < 10" \
    -- $(run_idx idx_label_out_of_range "$D/img" "$D/lab-200")
idx_images "$D/img5x5" 10 5 5
idx_labels "$D/lab10" 10
bad idx_test_image_size_mismatch 1 "aelab: error: the test set has 25 features per example but the training set 16" \
    -- $(run_idx idx_test_image_size_mismatch "$D/img" "$D/lab" "$D/img5x5" "$D/lab10")
bad idx_test_label_count_mismatch 1 "$D/lab: error: count mismatch: 100 labels at byte 4, expected 10 (the number of images in $D/img5x5)" \
    -- $(run_idx idx_test_label_count_mismatch "$D/img" "$D/lab" "$D/img5x5" "$D/lab")

# ==== 2. gzip-damaged IDX files (gzip is detected by content, runner/data.c) ==================
gz "$D/img" "$D/img.gz"
gz "$D/lab" "$D/lab.gz"
gzsize=$(stat -c %s "$D/img.gz")
bad gz_control_ok 0 -- $(run_idx gz_control_ok "$D/img.gz" "$D/lab.gz")
head -c 40 "$D/img.gz" >"$D/cut.gz"
bad gz_truncated 1 "$D/cut.gz: error: damaged gzip stream: compressed data ends early (truncated .gz file?)" \
    -- $(run_idx gz_truncated "$D/cut.gz" "$D/lab.gz")
head -c 10 "$D/img.gz" >"$D/hdr.gz"
bad gz_header_only 1 "$D/hdr.gz: error: damaged gzip stream: compressed data ends early (truncated .gz file?)" \
    -- $(run_idx gz_header_only "$D/hdr.gz" "$D/lab.gz")
printf '\x1f\x8b' >"$D/magic.gz"
bad gz_magic_only 1 "$D/magic.gz: error: damaged gzip stream: compressed data ends early (truncated .gz file?)" \
    -- $(run_idx gz_magic_only "$D/magic.gz" "$D/lab.gz")
cp "$D/img.gz" "$D/crc.gz"
poke "$D/crc.gz" $((gzsize - 8)) ff ff ff ff
bad gz_crc_damaged 1 "$D/crc.gz: error: damaged gzip stream: incorrect data check" \
    -- $(run_idx gz_crc_damaged "$D/crc.gz" "$D/lab.gz")
cp "$D/img.gz" "$D/len.gz"
poke "$D/len.gz" $((gzsize - 3)) 01
bad gz_length_damaged 1 "$D/len.gz: error: damaged gzip stream: incorrect length check" \
    -- $(run_idx gz_length_damaged "$D/len.gz" "$D/lab.gz")
cp "$D/img.gz" "$D/block.gz"
poke "$D/block.gz" 10 07 # first deflate block header: BFINAL=1, BTYPE=11 (reserved)
bad gz_invalid_block 1 "$D/block.gz: error: damaged gzip stream: invalid block type" \
    -- $(run_idx gz_invalid_block "$D/block.gz" "$D/lab.gz")
cp "$D/lab.gz" "$D/lab-crc.gz"
poke "$D/lab-crc.gz" $(($(stat -c %s "$D/lab.gz") - 6)) 00
bad gz_labels_crc_damaged 1 "$D/lab-crc.gz: error: damaged gzip stream: incorrect data check" \
    -- $(run_idx gz_labels_crc_damaged "$D/img.gz" "$D/lab-crc.gz")
head -c 500 "$D/img" | gzip -n -c >"$D/short.gz"
bad gz_content_truncated 1 "$D/short.gz: error: truncated: expected 1616 bytes (decompressed) (16-byte header + 100 x 4 x 4), found 500" \
    -- $(run_idx gz_content_truncated "$D/short.gz" "$D/lab.gz")
{ cat "$D/img"; printf 'x'; } | gzip -n -c >"$D/long.gz"
bad gz_content_trailing 1 "$D/long.gz: error: 1 trailing bytes after byte 1616: expected 1616 bytes (decompressed), found 1617" \
    -- $(run_idx gz_content_trailing "$D/long.gz" "$D/lab.gz")
idx_header "$D/bomb" 00000803 60000 28 28
gzip -n -c "$D/bomb" >"$D/bomb.gz"
idx_labels "$D/lab60k" 60000
bad gz_claims_too_much 1 "$D/bomb.gz: error: truncated: expected 47040016 bytes (16-byte header + 60000 x 28 x 28) but $(stat -c %s "$D/bomb.gz") bytes of gzip cannot hold that many" \
    -- $(run_idx gz_claims_too_much "$D/bomb.gz" "$D/lab60k")

# multi-member gzip (`cat a.gz b.gz`, what `gzip -c a b` writes) is one stream: accepted
head -c 700 "$D/img" | gzip -n -c >"$D/multi.gz"
tail -c +701 "$D/img" | head -c 600 | gzip -n -c >>"$D/multi.gz"
tail -c +1301 "$D/img" | gzip -n -c >>"$D/multi.gz"
{ head -c 50 "$D/lab" | gzip -n -c; tail -c +51 "$D/lab" | gzip -n -c; } >"$D/lab-multi.gz"
bad gz_multi_member_ok 0 -- $(run_idx gz_multi_member_ok "$D/multi.gz" "$D/lab-multi.gz")
bad gz_multi_member_subset_ok 0 -- $(run_idx gz_multi_member_subset_ok "$D/multi.gz" "$D/lab-multi.gz" "" "" "subset: 20, ")
# a member cut short in the middle of several: the stream ends early
{ gzip -n -c <"$D/lab" | head -c 20; gzip -n -c <"$D/lab"; } >"$D/multi-cut.gz"
bad gz_multi_member_first_cut 1 "$D/multi-cut.gz: error: damaged gzip stream: invalid literal/length code" \
    -- $(run_idx gz_multi_member_first_cut "$D/img.gz" "$D/multi-cut.gz")

# ==== 2a. trailing garbage after the gzip stream: refused with its offset in the file =========
{ cat "$D/img.gz"; printf 'garbage!'; } >"$D/trail.gz"
bad gz_trailing_garbage 1 "$D/trail.gz: error: trailing garbage after the gzip stream: 8 bytes at byte $gzsize of the file (after 1 member, 1616 bytes decompressed) are not another gzip member" \
    -- $(run_idx gz_trailing_garbage "$D/trail.gz" "$D/lab.gz")
{ cat "$D/img.gz"; head -c 512 /dev/zero; } >"$D/trail0.gz"
bad gz_trailing_zeros 1 "$D/trail0.gz: error: trailing garbage after the gzip stream: 512 bytes at byte $gzsize of the file (after 1 member, 1616 bytes decompressed) are not another gzip member" \
    -- $(run_idx gz_trailing_zeros "$D/trail0.gz" "$D/lab.gz")
{ cat "$D/img.gz"; printf '\x1f'; } >"$D/trail1.gz"
bad gz_trailing_one_byte 1 "$D/trail1.gz: error: trailing garbage after the gzip stream: 1 bytes at byte $gzsize of the file (after 1 member, 1616 bytes decompressed) are not another gzip member" \
    -- $(run_idx gz_trailing_one_byte "$D/trail1.gz" "$D/lab.gz")
{ cat "$D/img.gz"; printf '\x1f\x8b\x09\x00garbage'; } >"$D/trail-member.gz"
bad gz_trailing_bad_member 1 "$D/trail-member.gz: error: damaged gzip stream: unknown compression method" \
    -- $(run_idx gz_trailing_bad_member "$D/trail-member.gz" "$D/lab.gz")
{ cat "$D/multi.gz"; printf 'PK\x03\x04'; } >"$D/multi-trail.gz"
bad gz_trailing_after_members 1 "$D/multi-trail.gz: error: trailing garbage after the gzip stream: 4 bytes at byte $(stat -c %s "$D/multi.gz") of the file (after 3 members, 1616 bytes decompressed) are not another gzip member" \
    -- $(run_idx gz_trailing_after_members "$D/multi-trail.gz" "$D/lab.gz")
labgz=$(stat -c %s "$D/lab.gz")
{ cat "$D/lab.gz"; printf 'tail'; } >"$D/lab-trail.gz"
bad gz_trailing_garbage_labels 1 "$D/lab-trail.gz: error: trailing garbage after the gzip stream: 4 bytes at byte $labgz of the file (after 1 member, 108 bytes decompressed) are not another gzip member" \
    -- $(run_idx gz_trailing_garbage_labels "$D/img.gz" "$D/lab-trail.gz")
printf 'a,b,label\n1,2,0\n3,4,1\n' | gzip -n -c >"$D/trail.csv.gz"
csvgz=$(stat -c %s "$D/trail.csv.gz")
printf 'junk' >>"$D/trail.csv.gz"
csv_config "$C/gz_trailing_csv.yaml" gz_trailing_csv "$D/trail.csv.gz"
bad gz_trailing_csv 1 "$D/trail.csv.gz: error: trailing garbage after the gzip stream: 4 bytes at byte $csvgz of the file (after 1 member, 22 bytes decompressed) are not another gzip member" \
    -- aelab run "$C/gz_trailing_csv.yaml" -q --no-plots --no-cache --device cpu --out "$O/gz_trailing_csv"

# ==== 2b. `aelab check` holds each file's length against its header (exit 2), without loading it
# (plain: the size on disk; gzip: the trailer's ISIZE, inflated and counted when it disagrees)
check_idx() { # check_idx NAME IMAGES LABELS [TEST_IMAGES TEST_LABELS]: the command line of a case
    idx_config "$C/$1.yaml" "$1" "$2" "$3" "${4:-}" "${5:-}"
    echo aelab check "$C/$1.yaml"
}
at_ld() { echo " (the data set of load_dataset at $C/$1.yaml:4:5)"; }
bad check_idx_ok 0 -- no_stdout $(check_idx check_idx_ok "$D/img" "$D/lab")
bad check_gz_ok 0 -- no_stdout $(check_idx check_gz_ok "$D/img.gz" "$D/lab.gz")
bad check_gz_multi_member_ok 0 -- no_stdout $(check_idx check_gz_multi_member_ok "$D/multi.gz" "$D/lab-multi.gz")
bad check_images_truncated 2 "$D/img-cut: error: truncated: expected 1616 bytes (16-byte header + 100 x 4 x 4), found 1000$(at_ld check_images_truncated)" \
    -- $(check_idx check_images_truncated "$D/img-cut" "$D/lab")
bad check_labels_truncated 2 "$D/lab-cut: error: truncated: expected 108 bytes (8-byte header + 100), found 50$(at_ld check_labels_truncated)" \
    -- $(check_idx check_labels_truncated "$D/img" "$D/lab-cut")
bad check_images_trailing 2 "$D/img-trail: error: 3 trailing bytes after byte 1616: expected 1616 bytes, found 1619$(at_ld check_images_trailing)" \
    -- $(check_idx check_images_trailing "$D/img-trail" "$D/lab")
bad check_test_images_truncated 2 "$D/img-cut: error: truncated: expected 1616 bytes (16-byte header + 100 x 4 x 4), found 1000$(at_ld check_test_images_truncated)" \
    -- $(check_idx check_test_images_truncated "$D/img" "$D/lab" "$D/img-cut" "$D/lab")
bad check_label_count_mismatch 2 "$D/lab99: error: count mismatch: 99 labels at byte 4, expected 100 (the number of images in $D/img)$(at_ld check_label_count_mismatch)" \
    -- $(check_idx check_label_count_mismatch "$D/img" "$D/lab99")
bad check_gz_content_truncated 2 "$D/short.gz: error: truncated: expected 1616 bytes (decompressed) (16-byte header + 100 x 4 x 4), found 500$(at_ld check_gz_content_truncated)" \
    -- $(check_idx check_gz_content_truncated "$D/short.gz" "$D/lab.gz")
bad check_gz_content_trailing 2 "$D/long.gz: error: 1 trailing bytes after byte 1616: expected 1616 bytes (decompressed), found 1617$(at_ld check_gz_content_trailing)" \
    -- $(check_idx check_gz_content_trailing "$D/long.gz" "$D/lab.gz")
bad check_gz_cut 2 "$D/cut.gz: error: damaged gzip stream: compressed data ends early (truncated .gz file?)$(at_ld check_gz_cut)" \
    -- $(check_idx check_gz_cut "$D/cut.gz" "$D/lab.gz")
bad check_gz_trailing_garbage 2 "$D/trail.gz: error: trailing garbage after the gzip stream: 8 bytes at byte $gzsize of the file (after 1 member, 1616 bytes decompressed) are not another gzip member$(at_ld check_gz_trailing_garbage)" \
    -- $(check_idx check_gz_trailing_garbage "$D/trail.gz" "$D/lab.gz")
bad check_gz_labels_crc_damaged 2 "$D/lab-crc.gz: error: damaged gzip stream: incorrect data check$(at_ld check_gz_labels_crc_damaged)" \
    -- $(check_idx check_gz_labels_crc_damaged "$D/img.gz" "$D/lab-crc.gz")
bad check_test_width_mismatch 2 "$D/img5x5: error: 25 features per example (5 x 5), but the training set ($D/img) has 16$(at_ld check_test_width_mismatch)" \
    -- $(check_idx check_test_width_mismatch "$D/img" "$D/lab" "$D/img5x5" "$D/lab10")

# ==== 2c. gzip bombs: a small file inflating to GBs (tests/bad_inputs/gzbomb.c writes them in
# well under a second). Only what the header (and the subset) needs is inflated: each case runs
# under `ulimit -v` of 1 GiB, so a run that inflated or held the data would fail for memory.
"$T/gzbomb" images "$D/bomb4g.gz" 4294967296 100 28 28       # 100 images, then 4 GiB of zeros
"$T/gzbomb" images "$D/big.gz" 3136000000 4000000 28 28     # 4,000,000 images: 3.1 GB, consistent
"$T/gzbomb" labels "$D/lab4m" 4000000
idx_labels "$D/lab100" 100
BOMB="$D/bomb4g.gz: error: more than 1048576 trailing bytes after byte 78416: expected 78416 bytes (decompressed); the stream inflates past what its header declares (stopped reading there)"
bad gz_bomb_past_header 1 "$BOMB" \
    -- with_ulimit_v 1048576 $(run_idx gz_bomb_past_header "$D/bomb4g.gz" "$D/lab100" "" "" "subset: 100, ") --threads 1
bad gz_bomb_past_header_check 2 "$BOMB$(at_ld gz_bomb_past_header_check)" \
    -- with_ulimit_v 1048576 $(check_idx gz_bomb_past_header_check "$D/bomb4g.gz" "$D/lab100")
bad gz_bomb_subset_ok 0 \
    -- with_ulimit_v 1048576 $(run_idx gz_bomb_subset_ok "$D/big.gz" "$D/lab4m" "" "" "subset: 100, ") --threads 1
bad gz_bomb_subset_check_ok 0 \
    -- with_ulimit_v 1048576 no_stdout $(check_idx gz_bomb_subset_check_ok "$D/big.gz" "$D/lab4m")
[[ -n ${AELAB_WRAP:-} ]] && skipped+=("gz_bomb_all_out_of_memory (needs ulimit -v, left off under AELAB_WRAP)") ||
bad gz_bomb_all_out_of_memory 1 "$D/big.gz: error: out of memory for 3140000000 bytes of images and labels" \
    -- with_ulimit_v 1048576 $(run_idx gz_bomb_all_out_of_memory "$D/big.gz" "$D/lab4m") --threads 1
bad gz_bomb_test_split 1 "$BOMB" \
    -- with_ulimit_v 1048576 $(run_idx gz_bomb_test_split "$D/img" "$D/lab" "$D/bomb4g.gz" "$D/lab100" "test_subset: 10, ") --threads 1
rm -f "$D/bomb4g.gz" "$D/big.gz" "$D/lab4m"

# ==== 3. CSV data files (load_dataset {name: csv}) ===========================================
run_csv() { # run_csv NAME TRAIN [TEST [LABEL_COLUMN [KEYS]]]
    csv_config "$C/$1.yaml" "$1" "$2" "${3:-}" "${4:-}" "${5:-}"
    echo aelab run "$C/$1.yaml" -q --no-plots --no-cache --device cpu --out "$O/$1"
}
printf 'a,b,c,label\n1,2,3,0\n4,5,6,1\n' >"$D/ok.csv"
bad csv_control_ok 0 -- $(run_csv csv_control_ok "$D/ok.csv")
bad csv_missing 1 "$D/none.csv: error: cannot open: No such file or directory" \
    -- $(run_csv csv_missing "$D/none.csv")
: >"$D/empty.csv"
bad csv_empty 1 "$D/empty.csv: error: no data records" -- $(run_csv csv_empty "$D/empty.csv")
printf 'a,b,c,label\n' >"$D/header.csv"
bad csv_header_only 1 "$D/header.csv: error: no data records" -- $(run_csv csv_header_only "$D/header.csv")
printf '1,2,3,0\n4,5,x,1\n' >"$D/word.csv"
bad csv_not_a_number 1 "$D/word.csv: error: record 2, column 3: expected a number, got \"x\"" \
    -- $(run_csv csv_not_a_number "$D/word.csv")
printf '1,2,3,0\n4,5,1\n' >"$D/ragged.csv"
bad csv_ragged_rows 1 "$D/ragged.csv: error: record 2: 3 columns, expected 4 (as in the first record)" \
    -- $(run_csv csv_ragged_rows "$D/ragged.csv")
printf '1,2,300,0\n' >"$D/pixel.csv"
bad csv_pixel_out_of_range 1 "$D/pixel.csv: error: record 1, column 3: pixel value 300 out of range, expected 0..255" \
    -- $(run_csv csv_pixel_out_of_range "$D/pixel.csv")
printf '1,2,3,0.5\n' >"$D/label-frac.csv"
bad csv_label_not_integer 1 "$D/label-frac.csv: error: record 1, column 4: label 0.5, expected an integer 0..255 (label_column: auto takes the last column; set label_column: first, or N, if the label is elsewhere)" \
    -- $(run_csv csv_label_not_integer "$D/label-frac.csv")
printf '5\n6\n' >"$D/one-column.csv"
bad csv_one_column 1 "$D/one-column.csv: error: record 1: 1 column, expected a label and pixels" \
    -- $(run_csv csv_one_column "$D/one-column.csv")
printf '1,2,nan,0\n' >"$D/nan.csv"
bad csv_nan_pixel 1 "$D/nan.csv: error: record 1, column 3: expected a number, got \"nan\"" \
    -- $(run_csv csv_nan_pixel "$D/nan.csv")
bad csv_label_column_out_of_range 1 "$D/ok.csv: error: label column 7 out of range: records have 4 columns" \
    -- $(run_csv csv_label_column_out_of_range "$D/ok.csv" "" 7)
printf '1,2,0\n' >"$D/narrow.csv"
bad csv_test_width_mismatch 1 "aelab: error: the test set has 2 features per example but the training set 3" \
    -- $(run_csv csv_test_width_mismatch "$D/ok.csv" "$D/narrow.csv")
# An unterminated quote: the diagnostic must stay on one line (today the raw newline inside the
# quoted cell is printed, splitting it in two; see the report).
printf '1,"2\n3\n' >"$D/quote.csv"
bad csv_unterminated_quote 1 "~$D/quote\\.csv: error: .*" \
    -- $(run_csv csv_unterminated_quote "$D/quote.csv")

# A UTF-8 byte-order mark at the start of the file is dropped (the first field stays a number or
# a header name); the shape is checked against a test set written without one
printf '\xEF\xBB\xBF1,2,3,0\n4,5,6,1\n' >"$D/bom.csv"
printf '\xEF\xBB\xBFa,b,c,label\n1,2,3,0\n4,5,6,1\n' >"$D/bom-header.csv"
bad csv_bom_ok 0 -- $(run_csv csv_bom_ok "$D/bom.csv" "$D/ok.csv")
bad csv_bom_header_ok 0 -- $(run_csv csv_bom_header_ok "$D/bom-header.csv" "$D/bom.csv")
bad csv_bom_label_first_ok 0 -- $(run_csv csv_bom_label_first_ok "$D/bom.csv" "$D/ok.csv" 0)
printf '1,2,3,0\n\xEF\xBB\xBF4,5,6,1\n' >"$D/bom-middle.csv"
bad csv_bom_in_the_middle 1 "$D/bom-middle.csv: error: record 2, column 1: expected a number, got \"???4\"" \
    -- $(run_csv csv_bom_in_the_middle "$D/bom-middle.csv")
printf '\xEF\xBB\xBF' >"$D/bom-only.csv"
bad csv_bom_only 1 "$D/bom-only.csv: error: no data records" -- $(run_csv csv_bom_only "$D/bom-only.csv")
printf '\xEF\xBB\xBF1,2,0\n' >"$D/bom-narrow.csv"
bad csv_bom_test_width_mismatch 1 "aelab: error: the test set has 2 features per example but the training set 3" \
    -- $(run_csv csv_bom_test_width_mismatch "$D/ok.csv" "$D/bom-narrow.csv")

# ==== 3a. label-first CSVs and pixels already in [0, 1]: label_column and pixels say the layout;
# their default `auto` takes the last column and 0..255, and refuses a file that says otherwise
printf 'label,p1,p2,p3\n3,0,10,200\n1,0,200,0\n' >"$D/label-first-header.csv"
bad csv_label_first_header 1 "$D/label-first-header.csv: error: the header (record 1) names column 1 the label, but label_column: auto takes the last column (4); set label_column: first" \
    -- $(run_csv csv_label_first_header "$D/label-first-header.csv")
bad csv_label_first_header_ok 0 -- $(run_csv csv_label_first_header_ok "$D/label-first-header.csv" "" first)
printf 'p1,class,p2\n3,0,10\n1,1,200\n' >"$D/label-middle-header.csv"
bad csv_label_middle_header 1 "$D/label-middle-header.csv: error: the header (record 1) names column 2 the label, but label_column: auto takes the last column (3); set label_column: 1" \
    -- $(run_csv csv_label_middle_header "$D/label-middle-header.csv")
bad csv_label_column_n_ok 0 -- $(run_csv csv_label_column_n_ok "$D/label-middle-header.csv" "" 1)
printf '3,0,120,0\n1,0,200,0\n7,5,30,0\n' >"$D/label-first.csv"
bad csv_label_first_guess 1 "$D/label-first.csv: error: column 1 holds integers 0..9 like labels (3 distinct values) but the last column, which label_column: auto takes as the label, holds one value only (largest 0): a label-first file? set label_column: first (or label_column: last to keep the last column)" \
    -- $(run_csv csv_label_first_guess "$D/label-first.csv")
bad csv_label_first_guess_last_ok 0 -- $(run_csv csv_label_first_guess_last_ok "$D/label-first.csv" "" last)
bad csv_label_first_guess_minus1_ok 0 -- $(run_csv csv_label_first_guess_minus1_ok "$D/label-first.csv" "" -1)
printf '3,0,120,200\n1,0,200,17\n' >"$D/label-first-wide.csv"
bad csv_label_first_guess_wide 1 "$D/label-first-wide.csv: error: column 1 holds integers 0..9 like labels (2 distinct values) but the last column, which label_column: auto takes as the label, holds other values (largest 200): a label-first file? set label_column: first (or label_column: last to keep the last column)" \
    -- $(run_csv csv_label_first_guess_wide "$D/label-first-wide.csv")
printf '0,0.5,0.25,0\n1,1,0.75,0.125\n' >"$D/label-first-unit.csv"
bad csv_label_first_unit 1 "$D/label-first-unit.csv: error: record 2, column 4: label 0.125, expected an integer 0..255 (label_column: auto takes the last column; set label_column: first, or N, if the label is elsewhere)" \
    -- $(run_csv csv_label_first_unit "$D/label-first-unit.csv" "" "" "")
sed -i 's/^0,0.5,0.25,0$/0,0.5,0.25,0.25/' "$D/label-first-unit.csv"
bad csv_label_first_unit_ok 0 -- $(run_csv csv_label_first_unit_ok "$D/label-first-unit.csv" "" first "pixels: unit, ")
col_of() { awk -v w="$2" 'NR == 4 { print index($0, w) }' "$1"; } # col_of FILE WORD: its column on line 4
run_csv csv_label_column_bad_value "$D/ok.csv" "" middle >/dev/null
bad csv_label_column_bad_value 2 "$C/csv_label_column_bad_value.yaml:4:$(col_of "$C/csv_label_column_bad_value.yaml" middle): error: pipeline[0].load_dataset.label_column: expected an integer >= -1, or one of auto, first, last, got \"middle\"" \
    -- $(run_csv csv_label_column_bad_value "$D/ok.csv" "" middle)
printf '0.5,0.25,0.0,1\n0.1,1,0.75,0\n' >"$D/unit.csv"
bad csv_pixels_unit_guess 1 "$D/unit.csv: error: every pixel value lies in [0, 1], with fractions (record 1, column 1: 0.5): pixels already scaled to [0, 1]? set pixels: unit (or pixels: byte to read them as 0..255)" \
    -- $(run_csv csv_pixels_unit_guess "$D/unit.csv")
bad csv_pixels_unit_ok 0 -- $(run_csv csv_pixels_unit_ok "$D/unit.csv" "" "" "pixels: unit, ")
bad csv_pixels_byte_explicit_ok 0 -- $(run_csv csv_pixels_byte_explicit_ok "$D/unit.csv" "" "" "pixels: byte, ")
printf '0.5,0.25,0.0,1\n0.1,3,0.75,0\n' >"$D/unit-bad.csv"
bad csv_pixels_unit_out_of_range 1 "$D/unit-bad.csv: error: record 2, column 2: pixel value 3 out of range, expected 0..1 (pixels: unit)" \
    -- $(run_csv csv_pixels_unit_out_of_range "$D/unit-bad.csv" "" "" "pixels: unit, ")
printf '0.5,-0.25,0.0,1\n' >"$D/unit-neg.csv"
bad csv_pixels_unit_negative 1 "$D/unit-neg.csv: error: record 1, column 2: pixel value -0.25 out of range, expected 0..1 (pixels: unit)" \
    -- $(run_csv csv_pixels_unit_negative "$D/unit-neg.csv" "" "" "pixels: unit, ")
printf '0,1,1,0\n1,0,1,1\n' >"$D/binary.csv"
bad csv_pixels_binary_ok 0 -- $(run_csv csv_pixels_binary_ok "$D/binary.csv")
run_csv csv_pixels_bad_value "$D/ok.csv" "" "" "pixels: float, " >/dev/null
bad csv_pixels_bad_value 2 "$C/csv_pixels_bad_value.yaml:4:$(col_of "$C/csv_pixels_bad_value.yaml" float): error: pipeline[0].load_dataset.pixels: expected one of auto, byte, unit, got \"float\"" \
    -- $(run_csv csv_pixels_bad_value "$D/ok.csv" "" "" "pixels: float, ")

# ==== 3b. `aelab check` reads a CSV's shape (records, columns) and fails on a file it cannot use
check_csv() { # check_csv NAME TRAIN [TEST [LABEL_COLUMN [KEYS]]]: the command line of a case
    csv_config "$C/$1.yaml" "$1" "$2" "${3:-}" "${4:-}" "${5:-}"
    echo aelab check "$C/$1.yaml"
}
bad check_csv_missing 2 "$D/none.csv: error: cannot open: No such file or directory$(at_ld check_csv_missing)" \
    -- $(check_csv check_csv_missing "$D/none.csv")
bad check_csv_directory 2 "$D/a-directory: error: cannot open: a directory, not a regular file$(at_ld check_csv_directory)" \
    -- $(check_csv check_csv_directory "$D/a-directory")
bad check_csv_ragged 2 "$D/ragged.csv: error: record 2: 3 columns, expected 4 (as in the first record)$(at_ld check_csv_ragged)" \
    -- $(check_csv check_csv_ragged "$D/ragged.csv")
bad check_csv_empty 2 "$D/empty.csv: error: no data records$(at_ld check_csv_empty)" \
    -- $(check_csv check_csv_empty "$D/empty.csv")
bad check_csv_not_a_number 2 "$D/word.csv: error: record 2, column 3: expected a number, got \"x\"$(at_ld check_csv_not_a_number)" \
    -- $(check_csv check_csv_not_a_number "$D/word.csv")
bad check_csv_test_missing 2 "$D/none-test.csv: error: cannot open: No such file or directory$(at_ld check_csv_test_missing)" \
    -- $(check_csv check_csv_test_missing "$D/ok.csv" "$D/none-test.csv")
bad check_csv_test_width 2 "$D/narrow.csv: error: 2 features per example, but the training set ($D/ok.csv) has 3$(at_ld check_csv_test_width)" \
    -- $(check_csv check_csv_test_width "$D/ok.csv" "$D/narrow.csv")
bad check_csv_label_first 2 "$D/label-first.csv: error: column 1 holds integers 0..9 like labels (3 distinct values) but the last column, which label_column: auto takes as the label, holds one value only (largest 0): a label-first file? set label_column: first (or label_column: last to keep the last column)$(at_ld check_csv_label_first)" \
    -- $(check_csv check_csv_label_first "$D/label-first.csv")
bad check_csv_pixels_unit 2 "$D/unit.csv: error: every pixel value lies in [0, 1], with fractions (record 1, column 1: 0.5): pixels already scaled to [0, 1]? set pixels: unit (or pixels: byte to read them as 0..255)$(at_ld check_csv_pixels_unit)" \
    -- $(check_csv check_csv_pixels_unit "$D/unit.csv")
# the plan shows the CSV's own shape (3 records of 4 columns: 3 features, labels up to 7), not MNIST's
if [[ $ONLY == '*' || check_csv_shape == $ONLY ]]; then
    plan=$($(check_csv check_csv_shape "$D/label-first.csv" "" first) 2>&1)
    if grep -qxF '[0] load_dataset: csv, 3 training examples of 3 features, 8 classes; batch 2, shuffled' <<<"$plan"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL check_csv_shape: the plan's load_dataset line:"; head -n 3 <<<"$plan" | sed 's/^/    /'
    fi
fi

# ==== 4. config files that are not YAML text (tests/bad_configs/ has the YAML errors) ========
bad config_missing 2 "$C/none.yaml: error: cannot open: No such file or directory" -- aelab check "$C/none.yaml"
mkdir -p "$C/dir.yaml"
bad config_is_directory 2 "$C/dir.yaml: error: cannot open: a directory, not a regular file" -- aelab check "$C/dir.yaml"
head -c 64 "$AELAB" >"$C/elf.yaml"
bad config_binary 2 "$C/elf.yaml: error: control characters are not allowed at byte 0" -- aelab check "$C/elf.yaml"
printf 'name: a\x00b\npipeline: [load_dataset]\n' >"$C/nul.yaml"
bad config_nul_byte 2 "$C/nul.yaml: error: control characters are not allowed at byte 7" -- aelab check "$C/nul.yaml"
printf 'name: caf\xe9\npipeline: [load_dataset]\n' >"$C/latin1.yaml"
bad config_not_utf8 2 "$C/latin1.yaml: error: invalid trailing UTF-8 octet at byte 10" -- aelab check "$C/latin1.yaml"
: >"$C/zero.yaml"
bad config_zero_bytes 2 "$C/zero.yaml:1:1: error: the file holds no settings; a config needs at least 'name' and 'pipeline'" \
    -- aelab check "$C/zero.yaml"
{ printf 'name: deep\npipeline: '; printf '[%.0s' {1..200}; printf ']%.0s' {1..200}; echo; } >"$C/deep.yaml"
bad config_deep_nesting 2 "$C/deep.yaml:2:74: error: the document is too large: more than 100000 nodes or 64 levels of nesting (an alias expanding exponentially?)" \
    -- aelab check "$C/deep.yaml"
head -c 17000000 /dev/zero | tr '\0' '#' >"$C/huge.yaml"
bad config_too_large 2 "$C/huge.yaml: error: larger than 16777216 bytes: not a config" -- aelab check "$C/huge.yaml"
rm -f "$C/huge.yaml"

# ==== 5. the command line ===================================================================
cp "$C/idx_control_ok.yaml" "$C/ok.yaml"
bad cli_out_needs_value 2 "aelab run: error: --out needs a directory" -- aelab run "$C/ok.yaml" --out
bad cli_set_needs_value 2 "aelab run: error: --set needs KEY.PATH=VALUE" -- aelab run "$C/ok.yaml" --set
bad cli_device_needs_value 2 "aelab run: error: --device needs auto, cpu or gpu" -- aelab run "$C/ok.yaml" --device
bad cli_threads_too_many 2 "aelab run: error: --threads: expected an integer 0..1024, got '2000'" \
    -- aelab run "$C/ok.yaml" --threads 2000
bad cli_threads_negative 2 "aelab run: error: --threads: expected an integer 0..1024, got '-1'" \
    -- aelab run "$C/ok.yaml" --threads -1
bad cli_two_configs 2 "aelab run: error: unexpected argument '$C/ok.yaml' (one config file at a time)" \
    -- aelab run "$C/ok.yaml" "$C/ok.yaml"
bad cli_check_takes_no_out 2 "aelab check: error: unknown option '--out'" -- aelab check "$C/ok.yaml" --out x
# the usage hint after a usage error names the command's help: 'aelab run --help'
bad cli_help_hint 2 "aelab run: error: unknown option '-x'" "(see 'aelab run --help')" -- aelab run "$C/ok.yaml" -x
bad cli_gradcheck_bad_tol 2 "aelab gradcheck: error: --tol: expected a number > 0, got 'abc'" -- aelab gradcheck --tol abc
bad cli_gradcheck_bad_device 2 "aelab gradcheck: error: --device: expected cpu or gpu, got 'tpu'" -- aelab gradcheck --device tpu
bad cli_datasets_extra 2 "aelab datasets: error: unexpected argument 'extra'" -- aelab datasets extra
bad cli_plot_no_dir 2 "aelab plot: error: expected one run directory" -- aelab plot
# a run directory that does not exist: the message says so (today: "not a directory")
bad cli_plot_missing_dir 2 "~$O/no-such-run: error: .*No such file or directory" -- aelab plot "$O/no-such-run"
bad cli_out_empty 2 "~aelab run: error: --out.*" -- aelab run "$C/ok.yaml" --out ''

# bad --set paths and values (tests/bad_configs/set_*.yaml has the unknown key, stage and index)
bad set_empty_key 2 "--set =3: error: expected key.path=value (e.g. --set pretrain_layer.epochs=3)" \
    -- aelab check "$C/ok.yaml" --set =3
bad set_index_not_a_number 2 "--set pipeline.x.epochs=3: error: 'x' after 'pipeline.' must be a stage index (0 to 1)" \
    -- aelab check "$C/ok.yaml" --set pipeline.x.epochs=3
bad set_index_negative 2 "--set pipeline.-1.epochs=3: error: '-1' after 'pipeline.' must be a stage index (0 to 1)" \
    -- aelab check "$C/ok.yaml" --set pipeline.-1.epochs=3
bad set_leading_dot 2 "--set .epochs=3: error: empty name in the key path '.epochs'" \
    -- aelab check "$C/ok.yaml" --set .epochs=3
bad set_double_dot 2 "--set pretrain_layer..epochs=3: error: empty name in the key path 'pretrain_layer..epochs'" \
    -- aelab check "$C/ok.yaml" --set pretrain_layer..epochs=3
bad set_kind_index_zero 2 "--set pretrain_layer#0.epochs=3: error: 'pretrain_layer#0': expected KIND#N with N >= 1 (e.g. pretrain_layer#2)" \
    -- aelab check "$C/ok.yaml" --set 'pretrain_layer#0.epochs=3'
bad set_value_yaml_syntax 2 "--set seed=[1,2: error: did not find expected ',' or ']' (while parsing a flow sequence)" \
    -- aelab check "$C/ok.yaml" --set 'seed=[1,2'
bad set_value_empty_name 2 "--set name=: error: name: expected a name of letters, digits, '_', '.' and '-', not starting with '.' or '-', got nothing" \
    -- aelab check "$C/ok.yaml" --set name=
bad set_value_out_of_range 2 "--set pretrain_layer.units=-5: error: pipeline[1].pretrain_layer.units: expected an integer >= 1, got \"-5\"" \
    -- aelab check "$C/ok.yaml" --set pretrain_layer.units=-5
bad set_equals_form 2 "--set seed=x: error: seed: expected an integer >= 0, got \"x\"" \
    -- aelab check "$C/ok.yaml" --set=seed=x

# `check` reads the images' header: its message must not stack a second "error:" on the file's
bad check_idx_bad_magic 2 "~$D/lab: error: bad magic 0x00000801 at byte 0, expected 0x00000803 \\(idx3 images\\) \\(the data set of load_dataset at .*idx_labels_given_as_images\\.yaml:4:5\\)" \
    -- aelab check "$C/idx_labels_given_as_images.yaml"

# ==== 6. output directories that cannot be written ==========================================
: >"$O/a-file"
bad out_is_a_file 1 "$O/a-file: error: cannot create directory: exists and is not a directory" \
    -- aelab run "$C/ok.yaml" -q --no-plots --no-cache --device cpu --out "$O/a-file"
bad out_parent_is_a_file 1 "$O/a-file: error: cannot create directory: exists and is not a directory" \
    -- aelab run "$C/ok.yaml" -q --no-plots --no-cache --device cpu --out "$O/a-file/run"
bad out_under_proc 1 "/proc/version: error: cannot create directory: exists and is not a directory" \
    -- aelab run "$C/ok.yaml" -q --no-plots --no-cache --device cpu --out /proc/version/run
# root ignores permission bits, so "read-only" is a read-only mount (private mount namespace)
mkdir -p "$O/ro"
bad out_read_only_fs 1 "$O/ro/run: error: cannot create directory: Read-only file system" \
    -- in_ro_bind "$O/ro" aelab run "$C/ok.yaml" -q --no-plots --no-cache --device cpu --out "$O/ro/run"
# an existing run directory on a read-only mount: the message names the file, not a temp name
mkdir -p "$O/ro2/run"
bad out_read_only_existing_dir 1 "~$O/ro2/run/config\\.yaml: error: .*Read-only file system" \
    -- in_ro_bind "$O/ro2" aelab run "$C/ok.yaml" -q --no-plots --no-cache --device cpu --out "$O/ro2/run"
}

# ==== 7. damaged checkpoints met by `run --resume` and by the stage cache =====================
# A damaged entry is reported (a warning, so these runs are not -q) and its stage is trained
# again; the run ends normally. Each case damages a copy of one complete run of $C/ok.yaml
# (idx 4x4 data, load_dataset then pretrain_layer: checkpoints/01_pretrain_layer.ckpt, 770
# bytes, and its rows in 01_pretrain_layer.csv).
PROGRESS='aelab [0-9.]+: .*|\[[0-9]+/[0-9]+ [a-z_]+\] .*|done: .*'
RESUME=(--no-plots --no-cache --device cpu --threads 1 --resume)
# (through the same wrapper as the cases: a stage key includes the executable's identity, which
# under valgrind is valgrind's own)
CASE=setup-complete aelab run "$C/ok.yaml" -q --no-plots --no-cache --device cpu --threads 1 \
    --out "$O/complete" >"$T/complete.log" 2>&1 </dev/null ||
    { echo "test_bad_inputs: the reference run failed:"; cat "$T/complete.log"; }
resume_dir() { # resume_dir NAME: a copy of the complete run as $O/NAME; prints its first checkpoint
    rm -rf "${O:?}/$1"
    cp -a "$O/complete" "$O/$1"
    echo "$O/$1/checkpoints/01_pretrain_layer.ckpt"
}
P=$(resume_dir resume_ckpt_truncated)
head -c 100 "$O/complete/checkpoints/01_pretrain_layer.ckpt" >"$P"
ALLOW=$PROGRESS bad resume_ckpt_truncated 0 \
    "warning: ignoring $P: error: truncated: 100 bytes, expected at least 178 (the header)" \
    -- aelab run "$C/ok.yaml" "${RESUME[@]}" --out "$O/resume_ckpt_truncated"
P=$(resume_dir resume_ckpt_bit_flip)
poke "$P" 300 5a
# the CRC values depend on the trained weights: any 8 hex digits
ALLOW=$PROGRESS bad resume_ckpt_bit_flip 0 \
    "~warning: ignoring $P: error: checksum mismatch: stored CRC32 0x[0-9a-f]{8} at byte 766, computed 0x[0-9a-f]{8}; the file is damaged" \
    -- aelab run "$C/ok.yaml" "${RESUME[@]}" --out "$O/resume_ckpt_bit_flip"
P=$(resume_dir resume_ckpt_foreign)
cp "$D/img" "$P"
ALLOW=$PROGRESS bad resume_ckpt_foreign 0 \
    "warning: ignoring $P: error: not an aelab checkpoint: bad magic \".......d\" at byte 0, expected \"AELABCKP\"" \
    -- aelab run "$C/ok.yaml" "${RESUME[@]}" --out "$O/resume_ckpt_foreign"
P=$(resume_dir resume_ckpt_empty)
: >"$P"
ALLOW=$PROGRESS bad resume_ckpt_empty 0 \
    "warning: ignoring $P: error: not an aelab checkpoint: the file is empty" \
    -- aelab run "$C/ok.yaml" "${RESUME[@]}" --out "$O/resume_ckpt_empty"
P=$(resume_dir resume_ckpt_newer_version)
poke "$P" 8 02
ALLOW=$PROGRESS bad resume_ckpt_newer_version 0 \
    "warning: ignoring $P: error: unsupported checkpoint version 2 at byte 8, expected 1 (written by a newer aelab?)" \
    -- aelab run "$C/ok.yaml" "${RESUME[@]}" --out "$O/resume_ckpt_newer_version"
P=$(resume_dir resume_rows_torn)
R=${P%.ckpt}.csv
head -c "$(($(stat -c %s "$O/complete/checkpoints/01_pretrain_layer.csv") - 30))" \
    "$O/complete/checkpoints/01_pretrain_layer.csv" >"$R"
ALLOW=$PROGRESS bad resume_rows_torn 0 \
    "~warning: ignoring $R(:2: error: row has [0-9]+ fields, expected 12 \(as in the header on line 1\))?" \
    -- aelab run "$C/ok.yaml" "${RESUME[@]}" --out "$O/resume_rows_torn"
P=$(resume_dir resume_rows_missing)
R=${P%.ckpt}.csv
rm -f "$R"
ALLOW=$PROGRESS bad resume_rows_missing 0 \
    "warning: ignoring $R: error: cannot open: No such file or directory" \
    -- aelab run "$C/ok.yaml" "${RESUME[@]}" --out "$O/resume_rows_missing"
# a directory where the checkpoint file should be: warned, trained again, then it cannot be saved
P=$(resume_dir resume_ckpt_is_directory)
rm -f "$P"
mkdir -p "$P"
ALLOW=$PROGRESS bad resume_ckpt_is_directory 1 \
    "warning: ignoring $P: error: cannot open: a directory, not a regular file" \
    "$P: error: cannot write: Is a directory" \
    -- aelab run "$C/ok.yaml" "${RESUME[@]}" --out "$O/resume_ckpt_is_directory"
# a file where the checkpoints directory should be
resume_dir out_checkpoints_is_file >/dev/null
rm -rf "$O/out_checkpoints_is_file/checkpoints"
: >"$O/out_checkpoints_is_file/checkpoints"
bad out_checkpoints_is_file 1 \
    "$O/out_checkpoints_is_file/checkpoints: error: cannot create directory: exists and is not a directory" \
    -- aelab run "$C/ok.yaml" -q --no-plots --no-cache --device cpu --out "$O/out_checkpoints_is_file"
# the shared stage cache (AELAB_CACHE): its entry truncated (a crash of the machine)
with_cache() { # with_cache DIR CMD...: CMD with the stage cache in DIR
    AELAB_CACHE=$1 "${@:2}"
}
CASE=setup-cache AELAB_CACHE=$T/cache aelab run "$C/ok.yaml" -q --no-plots --device cpu --threads 1 \
    --out "$O/cache-fill" >/dev/null 2>&1 </dev/null
for f in "$T"/cache/*.ckpt; do [[ -f $f ]] && head -c 100 "$O/complete/checkpoints/01_pretrain_layer.ckpt" >"$f"; done
ALLOW=$PROGRESS bad cache_entry_damaged 0 \
    "~warning: ignoring $T/cache/[0-9a-f]{32}\\.ckpt: error: truncated: 100 bytes, expected at least 178 \\(the header\\)" \
    -- with_cache "$T/cache" aelab run "$C/ok.yaml" --no-plots --device cpu --threads 1 --out "$O/cache_entry_damaged"

# ==== 8. a disk that fills mid-run; a loss that becomes NaN (short runs on 200 MNIST images) ==
cat >"$C/mnist-short.yaml" <<'EOF'
name: mnist-short
seed: 1
pipeline:
  - load_dataset: {name: mnist, subset: 200, test_subset: 100, batch_size: 50}
  - pretrain_layer: {units: 32, optimizer: {name: sgd, lr: 0.5}, epochs: 2}
  - strip_decoder
  - attach_classifier: {optimizer: {name: sgd, lr: 0.1}, epochs: 2}
  - evaluate
EOF
MN=(-q --no-plots --no-cache --device cpu --threads 1)
# files limited to 100 KiB: config.yaml and metrics.csv fit, the first checkpoint (204 KB) not;
# the two finished epochs' rows stay in metrics.csv
ROWS="metrics.csv:2" mnist_bad disk_full_efbig 1 \
    "$O/efbig/checkpoints/01_pretrain_layer.ckpt: error: cannot write: File too large" \
    "aelab: note: results written so far are in $O/efbig/" \
    -- with_ulimit_f 100 aelab run "$C/mnist-short.yaml" "${MN[@]}" --out "$O/efbig"
# a real full disk: a 120 KiB tmpfs
CHECK_DIR="$O/tmpfs.after/run" ROWS="metrics.csv:2" mnist_bad disk_full_enospc 1 \
    "$O/tmpfs/run/checkpoints/01_pretrain_layer.ckpt: error: cannot write: No space left on device" \
    "aelab: note: results written so far are in $O/tmpfs/run/" \
    -- in_tmpfs 120k "$O/tmpfs" aelab run "$C/mnist-short.yaml" "${MN[@]}" --out "$O/tmpfs/run"
# the very first file cannot be written: the message names it (not its temp name)
mnist_bad disk_full_first_file 1 "~$O/efbig1/config\\.yaml: error: .*File too large" \
    -- with_ulimit_f 1 aelab run "$C/mnist-short.yaml" "${MN[@]}" --out "$O/efbig1"

cat >"$C/mnist-nan.yaml" <<'EOF'
name: mnist-nan
seed: 1
pipeline:
  - load_dataset: {name: mnist, subset: 200, test_subset: 100, batch_size: 50}
  - pretrain_layer: {units: 32, optimizer: {name: sgd, lr: 0.5}, epochs: 2}
  - pretrain_layer: {units: 16, activation: identity, decoder_activation: identity,
                     optimizer: {name: sgd, lr: 1e9}, epochs: 3}
EOF
# The NaN names stage, epoch and batch; the first stage's rows and checkpoint stay. Which batch
# first overflows float32 can depend on the BLAS kernels of the CPU: the pattern admits any batch
# (this machine: 3) and "NaN" or "infinite", nothing else.
ROWS="metrics.csv:2" mnist_bad nan_loss 1 \
    "~aelab: error: stage 2 \\(pretrain_layer_2\\): training diverged: the loss became (NaN|infinite) in epoch 1, batch [1-4] of 4" \
    "aelab: note: results written so far are in $O/nan/" \
    -- aelab run "$C/mnist-nan.yaml" "${MN[@]}" --out "$O/nan"
# in a classifier stage, in its second epoch: the first epoch's row stays
cat >"$C/mnist-nan-classifier.yaml" <<'EOF'
name: mnist-nan-classifier
seed: 1
pipeline:
  - load_dataset: {name: mnist, subset: 200, test_subset: 100, batch_size: 50}
  - attach_classifier: {hidden: [32], hidden_activation: identity, loss: cross_entropy,
                        optimizer: {name: sgd, lr: 1e4}, epochs: 6}
EOF
ROWS="metrics.csv:1" mnist_bad nan_loss_classifier 1 \
    "~aelab: error: stage 1 \\(attach_classifier\\): training diverged: the loss became (NaN|infinite) in epoch 2, batch [1-4] of 4" \
    "aelab: note: results written so far are in $O/nan-classifier/" \
    -- aelab run "$C/mnist-nan-classifier.yaml" "${MN[@]}" --out "$O/nan-classifier"
if [[ $mnist_ok -eq 1 && $ONLY == '*' ]]; then
    if [[ -s $O/nan/checkpoints/01_pretrain_layer.ckpt && ! -e $O/nan/checkpoints/02_pretrain_layer_2.ckpt ]]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL nan_loss_keeps_checkpoint: want checkpoints/01_pretrain_layer.ckpt and no 02_*: $(ls "$O/nan/checkpoints" 2>&1)"
    fi
fi

# ==== 9a. the data against the config: labels past the head, classes missing, no test split ===
# (runner/datacheck.c, when the config is loaded: `check` reports them, `run` refuses before
# training, exit 2). $D/lab holds labels 0..9; $D/lab3 labels 0..2 only; $D/lab0 all 0.
{ printf '\x00\x00\x08\x01'; be32 100; for ((i = 0; i < 100; i++)); do printf "\\x0$((i % 3))"; done; } >"$D/lab3"
{ printf '\x00\x00\x08\x01'; be32 100; head -c 100 /dev/zero; } >"$D/lab0"
# head_config FILE NAME TRAIN_LABELS TEST_LABELS HEAD_ARGS [EVAL]: idx 4x4 data and a classifier
head_config() {
    cat >"$1" <<EOF
name: $2
seed: 1
pipeline:
  - load_dataset: {name: idx, train_images: $D/img, train_labels: $3${4:+, test_images: $D/img, test_labels: $4}, batch_size: 10}
  - attach_classifier: {${5:+$5, }optimizer: {name: sgd, lr: 0.1}, epochs: 1}
${6:-}
EOF
}
head_config "$C/head3.yaml" head3 "$D/lab" "" "classes: 3"
CLS="error: pipeline[1].attach_classifier.classes: 3, but the training labels go up to 9 (10 classes in $D/lab); set classes: 10 or leave it out"
bad labels_past_head_check 2 "$C/head3.yaml:5:34: $CLS" -- aelab check "$C/head3.yaml"
bad labels_past_head_run 2 "$C/head3.yaml:5:34: $CLS" \
    -- aelab run "$C/head3.yaml" -q --no-plots --no-cache --device cpu --out "$O/labels_past_head_run"
if [[ ! -e $O/labels_past_head_run ]]; then pass=$((pass + 1))
else fail=$((fail + 1)); echo "FAIL labels_past_head_run_nothing_written: $O/labels_past_head_run exists"; fi
bad labels_past_head_set 2 "--set attach_classifier.classes=4: error: pipeline[1].attach_classifier.classes: 4, but the training labels go up to 9 (10 classes in $D/lab); set classes: 10 or leave it out" \
    -- aelab check "$C/head3.yaml" --set attach_classifier.classes=4
head_config "$C/head3test.yaml" head3test "$D/lab3" "$D/lab" "classes: 3"
bad labels_past_head_test_split 2 "$C/head3test.yaml:5:34: error: pipeline[1].attach_classifier.classes: 3, but the test labels go up to 9 (10 classes in $D/lab); set classes: 10 or leave it out" \
    -- aelab check "$C/head3test.yaml"
printf '1,2,3,0\n4,5,6,5\n7,8,9,2\n' >"$D/lab5.csv"
cat >"$C/head-csv.yaml" <<EOF
name: head-csv
pipeline:
  - load_dataset: {name: csv, train_csv: $D/lab5.csv, batch_size: 2}
  - attach_classifier: {classes: 2, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
EOF
bad labels_past_head_csv 2 "$C/head-csv.yaml:4:34: error: pipeline[1].attach_classifier.classes: 2, but the training labels go up to 5 (6 classes in $D/lab5.csv); set classes: 6 or leave it out" \
    -- aelab check "$C/head-csv.yaml"
sed 's/{name: idx, [^}]*}/{name: mnist, subset: 100, batch_size: 10}/' "$C/head3.yaml" >"$C/head3-mnist.yaml"
mnist_bad labels_past_head_mnist 2 "~$C/head3-mnist\\.yaml:5:34: error: pipeline\\[1\\]\\.attach_classifier\\.classes: 3, but the training labels go up to 9 \\(10 classes in .*/mnist/train-labels-idx1-ubyte(\\.gz)?\\); set classes: 10 or leave it out" \
    -- aelab check "$C/head3-mnist.yaml"
# fewer classes than the head: a warning per split, naming the missing ones
head_config "$C/head-missing.yaml" head-missing "$D/lab3" "$D/lab"
bad labels_missing_in_training 0 "$C/head-missing.yaml:5:5: warning: pipeline[1].attach_classifier: the head has 10 classes but the training labels (100 in $D/lab3) hold 3 of them; missing: 3..9" \
    -- no_stdout aelab check "$C/head-missing.yaml"
head_config "$C/head-missing-test.yaml" head-missing-test "$D/lab" "$D/lab3" "classes: 12"
bad labels_missing_in_both 0 \
    "$C/head-missing-test.yaml:5:5: warning: pipeline[1].attach_classifier: the head has 12 classes but the training labels (100 in $D/lab) hold 10 of them; missing: 10, 11" \
    "$C/head-missing-test.yaml:5:5: warning: pipeline[1].attach_classifier: the head has 12 classes but the test labels (100 in $D/lab3) hold 3 of them; missing: 3..11" \
    -- no_stdout aelab check "$C/head-missing-test.yaml"
head_config "$C/head-one.yaml" head-one "$D/lab0" ""
bad labels_one_class 2 "$C/head-one.yaml:5:5: error: pipeline[1].attach_classifier: the training labels are all 0 (100 of them in $D/lab0): a classifier needs at least 2 classes (set classes: to the number the data has)" \
    -- aelab check "$C/head-one.yaml"
head_config "$C/head-one10.yaml" head-one10 "$D/lab0" "" "classes: 10"
bad labels_one_class_of_ten 0 "$C/head-one10.yaml:5:5: warning: pipeline[1].attach_classifier: the head has 10 classes but the training labels (100 in $D/lab0) hold 1 of them; missing: 1..9" \
    -- aelab run "$C/head-one10.yaml" -q --no-plots --no-cache --device cpu --out "$O/labels_one_class_of_ten"
sed 's/batch_size: 10}/subset: 5, batch_size: 5}/' "$C/head-missing.yaml" >"$C/head-subset.yaml"
bad labels_missing_after_subset 0 "$C/head-subset.yaml:5:5: warning: pipeline[1].attach_classifier: the head has 10 classes but the training labels (5 in $D/lab3) hold 3 of them; missing: 3..9" \
    -- aelab run "$C/head-subset.yaml" -q --no-plots --no-cache --device cpu --out "$O/labels_missing_after_subset"

# evaluate on a test split the data set does not have: an error at the evaluate stage
head_config "$C/eval-notest.yaml" eval-notest "$D/lab" "" "" "  - evaluate: {split: test}"
EVT="error: pipeline[2].evaluate.split: test, but the data set has no test split (idx); give load_dataset test_images and test_labels, or use split: train"
bad evaluate_test_missing_check 2 "$C/eval-notest.yaml:6:23: $EVT" -- aelab check "$C/eval-notest.yaml"
bad evaluate_test_missing_run 2 "$C/eval-notest.yaml:6:23: $EVT" \
    -- aelab run "$C/eval-notest.yaml" -q --no-plots --no-cache --device cpu --out "$O/evaluate_test_missing_run"
head_config "$C/eval-default.yaml" eval-default "$D/lab" "" "" "  - evaluate"
bad evaluate_default_split_missing 2 "$C/eval-default.yaml:6:5: $EVT" -- aelab check "$C/eval-default.yaml"
bad evaluate_test_missing_set 2 "--set evaluate.split=test: $EVT" \
    -- aelab check "$C/eval-default.yaml" --set evaluate.split=test
cat >"$C/eval-csv.yaml" <<EOF
name: eval-csv
pipeline:
  - load_dataset: {name: csv, train_csv: $D/ok.csv, batch_size: 2}
  - attach_classifier: {optimizer: {name: sgd, lr: 0.1}, epochs: 1}
  - evaluate: {split: test}
EOF
bad evaluate_test_missing_csv 2 "$C/eval-csv.yaml:5:23: error: pipeline[2].evaluate.split: test, but the data set has no test split (csv); give load_dataset test_csv, or use split: train" \
    -- aelab check "$C/eval-csv.yaml"
head_config "$C/eval-train.yaml" eval-train "$D/lab" "" "" "  - evaluate: {split: train}"
bad evaluate_train_without_test_ok 0 -- no_stdout aelab check "$C/eval-train.yaml"

# ==== 9b. inputs that are not regular files: refused at once, never waited on ================
# (every case under `timeout 10`: a reader that blocks on the FIFO fails the case, not the suite)
t10() { timeout 10 bash -c 'aelab "$@"' _ "$@"; }
mkfifo "$D/fifo" "$C/fifo.yaml" "$D/fifo.csv"
bad fifo_config 2 "$C/fifo.yaml: error: cannot open: a FIFO, not a regular file" -- t10 check "$C/fifo.yaml"
bad fifo_config_run 2 "$C/fifo.yaml: error: cannot open: a FIFO, not a regular file" \
    -- t10 run "$C/fifo.yaml" -q --out "$O/fifo_config_run"
bad chardev_config 2 "/dev/null: error: cannot open: a character device, not a regular file" -- t10 check /dev/null
idx_config "$C/fifo-img.yaml" fifo-img "$D/fifo" "$D/lab"
bad fifo_images 1 "$D/fifo: error: cannot open: a FIFO, not a regular file" \
    -- t10 run "$C/fifo-img.yaml" -q --no-plots --no-cache --device cpu --out "$O/fifo_images"
idx_config "$C/fifo-lab.yaml" fifo-lab "$D/img" "$D/fifo"
bad fifo_labels 1 "$D/fifo: error: cannot open: a FIFO, not a regular file" \
    -- t10 run "$C/fifo-lab.yaml" -q --no-plots --no-cache --device cpu --out "$O/fifo_labels"
head_config "$C/fifo-head.yaml" fifo-head "$D/fifo" "" "classes: 3"
bad fifo_labels_check_with_head 2 "$D/fifo: error: cannot open: a FIFO, not a regular file (the data set of load_dataset at $C/fifo-head.yaml:4:5)" \
    -- t10 check "$C/fifo-head.yaml"
idx_config "$C/chardev-img.yaml" chardev-img /dev/zero "$D/lab"
bad chardev_images 1 "/dev/zero: error: cannot open: a character device, not a regular file" \
    -- t10 run "$C/chardev-img.yaml" -q --no-plots --no-cache --device cpu --out "$O/chardev_images"
csv_config "$C/fifo-csv.yaml" fifo-csv "$D/fifo.csv"
bad fifo_csv 1 "$D/fifo.csv: error: cannot open: a FIFO, not a regular file" \
    -- t10 run "$C/fifo-csv.yaml" -q --no-plots --no-cache --device cpu --out "$O/fifo_csv"
P=$(resume_dir resume_ckpt_fifo)
rm -f "$P"
mkfifo "$P"
# (trained again, and the new checkpoint replaces the FIFO: the atomic writer renames over it)
ALLOW=$PROGRESS bad resume_ckpt_fifo 0 \
    "warning: ignoring $P: error: cannot open: a FIFO, not a regular file" \
    -- t10 run "$C/ok.yaml" "${RESUME[@]}" --out "$O/resume_ckpt_fifo"

# ==== 9c. run names that collide with a directory aelab keeps under results/ ===================
for rn in baselines regress regress-short Baselines; do
    sed "s/^name: .*/name: $rn/" "$C/ok.yaml" >"$C/reserved-$rn.yaml"
    lower=$(tr 'A-Z' 'a-z' <<<"$rn")
    bad "reserved_name_$rn" 2 "$C/reserved-$rn.yaml:1:7: error: name: '$rn' is reserved: aelab keeps results/$lower/ for its own files; choose another name" \
        -- aelab check "$C/reserved-$rn.yaml"
done
bad reserved_name_run 2 "$C/reserved-regress.yaml:1:7: error: name: 'regress' is reserved: aelab keeps results/regress/ for its own files; choose another name" \
    -- aelab run "$C/reserved-regress.yaml" -q --no-plots --no-cache --device cpu
bad reserved_name_set 2 "--set name=regress-short: error: name: 'regress-short' is reserved: aelab keeps results/regress-short/ for its own files; choose another name" \
    -- aelab check "$C/ok.yaml" --set name=regress-short
bad reserved_name_dot_cache 2 "--set name=.cache: error: name: expected a name of letters, digits, '_', '.' and '-', not starting with '.' or '-', got \".cache\"" \
    -- aelab check "$C/ok.yaml" --set name=.cache
bad reserved_name_prefix_ok 0 -- no_stdout aelab check "$C/ok.yaml" --set name=baselines-2

# ==== 9. fuzz findings: every reproducer saved in tests/fuzz/crashes/ must pass its harness =====
# (tests/fuzz/run.sh replays them under clang and libFuzzer too; here gcc builds the harness with
# tests/fuzz/replay_main.c, so that make test needs no clang)
. tests/fuzz/sources.sh
for h in "${FUZZ_HARNESSES[@]}"; do
    repros=()
    # shellcheck disable=SC2053
    for f in tests/fuzz/crashes/"$h"-*; do [[ -f $f && $(basename "$f") == $ONLY ]] && repros+=("$f"); done
    # every harness is built, reproducers or not, so that a source list in tests/fuzz/sources.sh
    # that no longer links (a file split off, a new dependency) fails here, not only in make fuzz
    [[ ${#repros[@]} -gt 0 || $ONLY == '*' ]] || continue
    # shellcheck disable=SC2086,SC2046
    if ! "$CC" -std=c11 -D_GNU_SOURCE -O1 -g -I. -Iengine -Irunner -Itests/fuzz -o "$T/$h" \
            "tests/fuzz/$h.c" tests/fuzz/replay_main.c ${FUZZ_SRC[$h]} \
            $(pkg-config --cflags --libs ${FUZZ_PKGS[$h]} 2>/dev/null) ${FUZZ_LIBS[$h]} -lm \
            2>"$T/$h.build.log"; then
        fail=$((fail + 1)); echo "FAIL $h: the harness does not build with $CC:"; head -n 20 "$T/$h.build.log"
        continue
    fi
    pass=$((pass + 1)) # it builds
    for f in "${repros[@]}"; do
        name=$(basename "$f")
        # (braces: bash's own "Aborted" notice goes to the log too)
        if { AELAB_FUZZ_KNOWN='' AELAB_FUZZ_TMP=$T "$T/$h" "$f"; } >"$T/$h.out" 2>&1; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1)); echo "FAIL $name: fuzz reproducer (replay: build/fuzz/$h $f)"
            grep -E 'property failed|^  ' "$T/$h.out" | head -n 3 | sed 's/^/    /'
        fi
    done
done

for s in "${skipped[@]}"; do echo "skipped: $s"; done
echo "test_bad_inputs: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
