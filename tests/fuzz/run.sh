#!/usr/bin/env bash
# tests/fuzz/run.sh — `make fuzz`: builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with
# clang -fsanitize=fuzzer,address,undefined from the sources they test (compiled by clang here,
# not the gcc objects of libaelab.a), builds the seed corpora, replays the saved reproducers in
# tests/fuzz/crashes/, then fuzzes each harness for FUZZ_SECONDS and prints its figures.
#
# Usage: tests/fuzz/run.sh [HARNESS...]        (default: all of them; e.g. fuzz_idx)
# Environment:
#   FUZZ_SECONDS  [60]  time per harness (0: replay only, as FUZZ_REPLAY=1)
#   FUZZ_FORK     [0]   1: libFuzzer's fork mode with -ignore_crashes, for long campaigns that
#                       should go on after a finding (every crash is still saved)
#   FUZZ_REPLAY   [0]   1: only build and replay tests/fuzz/crashes/ and the corpora; no fuzzing
#   CLANG         [clang]
# Outputs: build/fuzz/<harness> (binaries), build/fuzz/corpus/<harness>/ (the corpus, which
# grows from run to run), build/fuzz/<harness>.log; a crash is saved as
# tests/fuzz/crashes/<harness>-crash-<sha1> (replay: build/fuzz/<harness> FILE; see replay()
# below for the naming of reproducers of known, open bugs).
# Exit 0 when no harness crashed and every saved reproducer now passes; 1 otherwise; 77 (skip)
# when clang cannot build a fuzzer here.
set -u
cd "$(dirname "$0")/../.." || exit 2
: "${FUZZ_SECONDS:=60}" "${FUZZ_FORK:=0}" "${FUZZ_REPLAY:=0}" "${CLANG:=clang}"
OUT=build/fuzz
CRASHES=tests/fuzz/crashes
mkdir -p "$OUT" "$CRASHES"

if ! [[ $FUZZ_SECONDS =~ ^[0-9]+$ ]]; then
    echo "fuzz: FUZZ_SECONDS must be a whole number of seconds, not '$FUZZ_SECONDS'" >&2
    exit 2
fi
# libFuzzer reads -max_total_time=0 as "no limit": 0 seconds means replay only
[[ $FUZZ_SECONDS -gt 0 ]] || FUZZ_REPLAY=1
if ! command -v "$CLANG" >/dev/null; then
    echo "skip: $CLANG not found (libFuzzer needs clang)"
    exit 77
fi

. tests/fuzz/sources.sh
ALL=("${FUZZ_HARNESSES[@]}")
# the harnesses' scratch files (tests/fuzz/fuzz_util.h): in memory when /dev/shm exists, and
# removed at the end even after a crash
scratch=$(mktemp -d "$([[ -d /dev/shm ]] && echo /dev/shm || echo /tmp)/aelab-fuzz-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export AELAB_FUZZ_TMP=$scratch
# shellcheck disable=SC2054
CFLAGS=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -I. -Iengine -Irunner -Itests/fuzz)

harnesses=("$@")
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=("${ALL[@]}")
for h in "${harnesses[@]}"; do
    [[ -n ${FUZZ_SRC[$h]+x} ]] || { echo "fuzz: unknown harness '$h' (known: ${ALL[*]})" >&2; exit 2; }
done

# ---- build (again only when a source or header is newer than the binary) ----
build() {
    local h=$1 bin=$OUT/$1 src
    # shellcheck disable=SC2206
    local deps=("tests/fuzz/$h.c" tests/fuzz/fuzz_util.h ${FUZZ_SRC[$h]} engine/*.h runner/*.h)
    if [[ -x $bin ]]; then
        local stale=0
        for src in "${deps[@]}"; do [[ $src -nt $bin ]] && stale=1; done
        [[ $stale -eq 0 ]] && return 0
    fi
    # shellcheck disable=SC2046,SC2086
    "$CLANG" "${CFLAGS[@]}" $(pkg-config --cflags ${FUZZ_PKGS[$h]} 2>/dev/null) -o "$bin" \
        "tests/fuzz/$h.c" ${FUZZ_SRC[$h]} $(pkg-config --libs ${FUZZ_PKGS[$h]} 2>/dev/null) \
        ${FUZZ_LIBS[$h]} -lm 2>"$OUT/$h.build.log"
    local rc=$?
    if [[ $rc -ne 0 ]]; then
        echo "fuzz: building $h failed:"; sed 's/^/    /' "$OUT/$h.build.log" | head -n 30
        return 1
    fi
}

# ---- seed corpora ----
corpus() {
    local h=$1 dir=$OUT/corpus/$1
    mkdir -p "$dir"
    case $h in
    fuzz_config)
        cp -n tests/bad_configs/*.yaml tests/good_configs/*.yaml experiments/*.yaml "$dir"/ 2>/dev/null
        cp -n tests/bad_inputs/*.yaml "$dir"/ 2>/dev/null
        ;;
    fuzz_set)
        # byte 0 picks the base config, then one --set per line (see fuzz_set.c)
        local k=0 line
        while IFS= read -r line; do
            printf '%b%s' "\\x0$((k % 4))" "$line" >"$dir/seed-$k"
            k=$((k + 1))
        done < <(sed -n 's/^# args: //p' tests/bad_configs/*.yaml | sed 's/--set //g; s/ --set=/\n/g' |
                 tr -s ' ' '\n' | grep '=' ; cat tests/fuzz/set_seeds.txt)
        printf '\x00' >"$dir/seed-none"
        ;;
    fuzz_idx | fuzz_checkpoint)
        if [[ ! -x $OUT/gen_seeds || tests/fuzz/gen_seeds.c -nt $OUT/gen_seeds ]]; then
            # shellcheck disable=SC2046
            "$CLANG" -std=c11 -D_GNU_SOURCE -g -O1 -I. -Iengine -Irunner -o "$OUT/gen_seeds" \
                tests/fuzz/gen_seeds.c $GEN_SEEDS_SRC \
                $(pkg-config --cflags --libs openblas zlib) -lcsv -lgomp -lm \
                2>"$OUT/gen_seeds.build.log" || { echo "fuzz: building gen_seeds failed"; \
                sed 's/^/    /' "$OUT/gen_seeds.build.log" | head -n 20; return 1; }
        fi
        mkdir -p "$OUT/seeds/idx" "$OUT/seeds/checkpoint"
        local mn=()
        for d in "${AELAB_DATA:-}/mnist" data/mnist; do
            if [[ -f $d/train-images-idx3-ubyte && -f $d/train-labels-idx1-ubyte ]]; then
                mn=("$d/train-images-idx3-ubyte" "$d/train-labels-idx1-ubyte"); break
            fi
        done
        "$OUT/gen_seeds" "$OUT/seeds" "${mn[@]}" || return 1
        if [[ $h == fuzz_idx ]]; then cp -n "$OUT"/seeds/idx/* "$dir"/
        else cp -n "$OUT"/seeds/checkpoint/* "$dir"/; fi
        ;;
    fuzz_csv)
        cp -n tests/fixtures/*.csv "$dir"/ 2>/dev/null
        find results -name '*.csv' -size -64k 2>/dev/null | head -n 40 | while read -r f; do
            cp -n "$f" "$dir/$(echo "$f" | tr '/' '_')"
        done
        printf 'a,b\n"x, y","he said ""hi"""\n" lead",trail \n' >"$dir/quoted.csv"
        printf '\xef\xbb\xbfmetric,value\r\ntest_accuracy,97.5\r\n\r\n' >"$dir/bom-crlf.csv"
        printf 'a,b\n1,"multi\nline"\n' >"$dir/multiline.csv"
        ;;
    esac
    return 0
}

# A dictionary of the config language: every quoted word in the schema, plus YAML punctuation.
dictionary() {
    local dict=$OUT/config.dict
    if [[ ! -s $dict || runner/schema.c -nt $dict ]]; then
        {
            grep -o '"[a-z_][a-z0-9_-]*"' runner/schema.c runner/config.c | cut -d: -f2 | sort -u
            printf '"%s"\n' ': ' '- ' '{' '}' '[' ']' '&a ' '*a' '<<: ' '!!str ' '---' '...' \
                '# ' '\\x09' '\\x0a  ' 'pipeline.' '#2.' '.inf' '.nan' '1e999' '0x10' '~'
        } >"$dict"
    fi
    echo "$dict"
}

# ---- replay: every saved reproducer must now pass ----
# A reproducer named HARNESS-TAG--WHAT belongs to an open bug whose property check the harness
# skips when TAG is in $AELAB_FUZZ_KNOWN (tests/fuzz/fuzz_util.h). While it still fails, the bug
# is open: the run fails, and the fuzzing that follows skips that one check, so that it does not
# stop at the same bug again and can look for others. Reproducers libFuzzer saves itself
# (HARNESS-crash-SHA1) have no tag: rename them once the bug is understood.
replay_fail=0
known=
replay() {
    local h=$1 f tag
    known=${AELAB_FUZZ_KNOWN:-}
    for f in "$CRASHES/$h"-*; do
        [[ -f $f ]] || continue
        if AELAB_FUZZ_KNOWN='' "$OUT/$h" -runs=1 "$f" >"$OUT/replay.log" 2>&1; then
            echo "fuzz: $h: reproducer $f passes now"
        else
            echo "fuzz: $h: reproducer $f still FAILS (an open bug):"
            grep -E 'ERROR|property failed|runtime error' "$OUT/replay.log" | head -n 3 | sed 's/^/    /'
            replay_fail=1
            tag=$(basename "$f")
            tag=${tag#"$h"-}
            if [[ $tag == *--* ]]; then known+=${known:+,}${tag%%--*}; fi
        fi
    done
}

status=0
for h in "${harnesses[@]}"; do
    build "$h" || { status=1; continue; }
    corpus "$h" || { status=1; continue; }
    replay "$h"
    dict_args=()
    [[ $h == fuzz_config || $h == fuzz_set ]] && dict_args=(-dict="$(dictionary)")
    if [[ $FUZZ_REPLAY == 1 ]]; then
        AELAB_FUZZ_KNOWN=$known "$OUT/$h" -runs=0 "$OUT/corpus/$h" >"$OUT/$h.log" 2>&1 || { echo "fuzz: $h: corpus replay failed"; status=1; }
        continue
    fi
    mode=()
    [[ $FUZZ_FORK == 1 ]] && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    start=$(date +%s)
    [[ -z $known ]] || echo "fuzz: $h: fuzzing past the open bugs: $known"
    AELAB_FUZZ_KNOWN=$known "$OUT/$h" "${mode[@]}" -max_total_time="$FUZZ_SECONDS" \
        -timeout=20 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$CRASHES/$h-" "${dict_args[@]}" "$OUT/corpus/$h" >"$OUT/$h.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    last=$(grep -E '^#[0-9]+' "$OUT/$h.log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$h.log" | tail -n 1)
    [[ -n $execs ]] || execs=$(sed -E -n 's/^#([0-9]+).*/\1/p' <<<"$last")
    cov=$(grep -Eo 'cov: [0-9]+' <<<"$last" | tail -n 1)
    ft=$(grep -Eo 'ft: [0-9]+' <<<"$last" | tail -n 1)
    ncorp=$(find "$OUT/corpus/$h" -type f | wc -l)
    ncrash=$(grep -c 'Test unit written to' "$OUT/$h.log")
    printf '%-16s %5ss  %10s execs  %-10s %-10s corpus %5d  crashes %d\n' "$h" "$secs" \
        "${execs:-?}" "${cov:-cov: ?}" "${ft:-ft: ?}" "$ncorp" "$ncrash"
    if [[ $rc -ne 0 || $ncrash -gt 0 ]]; then
        status=1
        grep -E 'Test unit written to|SUMMARY|property failed' "$OUT/$h.log" | sort -u | head -n 10 | sed 's/^/    /'
    fi
done
[[ $replay_fail -eq 0 ]] || status=1
exit $status
