#!/usr/bin/env bash
# tests/valgrind.sh — `make valgrind`: aelab under valgrind's memcheck, which must end clean,
# leaks included (definite and possible):
#   1. a short real training on 200 MNIST images through every kind of stage, plots on;
#   2. tests/test_bad_checkpoints (every damaged checkpoint of the catalogue);
#   3. the bad-input catalogue, tests/test_bad_inputs.sh, with every aelab call under memcheck.
# Steps 1-3 use a CPU-only build made here (make CUDA=0 BUILD=build/valgrind), so that the
# CUDA=0 configuration is covered too. Step 4 runs the training of step 1 once more with the
# shipped $AELAB (which dlopens the CUDA backend only for a GPU run; --device cpu here).
# False positives outside aelab are suppressed in tests/valgrind.supp (each one explained).
# Logs: build/valgrind/logs/NAME.PID.log, one per process; memcheck writes only when it finds
# something (-q), so any non-empty log is a finding.
# Usage: AELAB=bin/aelab tests/valgrind.sh       exit 0 clean, 1 findings or a failed step,
#                                                77 when valgrind is not installed
set -u
cd "$(dirname "$0")/.." || exit 2
AELAB=${AELAB:-bin/aelab}
if ! command -v valgrind >/dev/null; then
    echo "skip: valgrind is not installed (apt-get install valgrind)"
    exit 77
fi
export AELAB_NO_REEXEC=1 # runner/main.c's self re-exec would leave valgrind behind
: "${AELAB_DATA:=$PWD/data}"
export AELAB_DATA
VB=build/valgrind
LOGS=$VB/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
VG="valgrind -q --vgdb=no --leak-check=full --show-leak-kinds=definite,possible --errors-for-leak-kinds=definite,possible --error-exitcode=99 --num-callers=30 --suppressions=$PWD/tests/valgrind.supp"
status=0
tmp=$(mktemp -d /tmp/aelab-valgrind-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "valgrind: building the CPU-only binary in $VB/"
if ! ${MAKE:-make} --no-print-directory CUDA=0 BUILD=$VB BIN=$VB/aelab WERROR=0 \
        "$VB/aelab" "$VB/tests/test_bad_checkpoints" >"$VB/build.log" 2>&1; then
    echo "valgrind: the build failed:"; tail -n 20 "$VB/build.log"
    exit 1
fi

cat >"$tmp/short.yaml" <<'EOF'
name: valgrind-short
seed: 1
pipeline:
  - load_dataset: {name: mnist, subset: 200, test_subset: 100, batch_size: 50}
  - add_noise: {kind: gaussian, mean: 0.1, std: 0.2}
  - pretrain_layer: {units: 16, optimizer: {name: sgd, lr: 0.5}, epochs: 2}
  - add_sparsity: {kind: kl, rho: 0.1, beta: 0.5}
  - append_layer: {units: 8, activation: sigmoid, optimizer: {name: adam, lr: 0.01}, epochs: 1}
  - strip_decoder
  - attach_classifier: {hidden: [8], optimizer: {name: sgd, lr: 0.1, momentum: 0.9}, epochs: 2}
  - evaluate
EOF

# run_training NAME BINARY: the short training under memcheck; its outputs must all be there
run_training() {
    local name=$1 bin=$2 out=$tmp/$1
    local start=$SECONDS
    $VG --log-file="$LOGS/$name.%p.log" "$bin" run "$tmp/short.yaml" --device cpu --threads 2 -q \
        --no-cache --out "$out" >"$tmp/$name.stdout" 2>"$tmp/$name.stderr"
    local rc=$? missing=()
    # every stage trained here (none reused): 2 + 1 + 2 epoch rows
    [[ $(wc -l <"$out/metrics.csv" 2>/dev/null) -eq 6 ]] || missing+=("5 rows of metrics.csv")
    for f in config.yaml metrics.csv summary.csv per_class.csv confusion.csv; do
        [[ -s $out/$f ]] || missing+=("$f")
    done
    if [[ $rc -eq 0 && ${#missing[@]} -eq 0 ]]; then
        echo "valgrind: $name: exit 0, outputs complete ($((SECONDS - start)) s)"
    else
        status=1
        echo "valgrind: $name: FAILED: exit $rc${missing[*]:+, missing ${missing[*]}}"
        sed 's/^/    /' "$tmp/$name.stderr" | head -n 10
    fi
}

if [[ -f $AELAB_DATA/mnist/train-images-idx3-ubyte || -f $AELAB_DATA/mnist/train-images-idx3-ubyte.gz ]]; then
    run_training training "$VB/aelab"
else
    echo "valgrind: training: skipped, MNIST not found under $AELAB_DATA (make data)"
fi

$VG --log-file="$LOGS/test_bad_checkpoints.%p.log" "$VB/tests/test_bad_checkpoints" >"$tmp/ckpt.out" 2>&1
rc=$?
echo "valgrind: test_bad_checkpoints: exit $rc: $(tail -n 1 "$tmp/ckpt.out")"
[[ $rc -eq 0 ]] || status=1

echo "valgrind: the bad-input catalogue under memcheck (a few minutes)..."
AELAB=$VB/aelab AELAB_WRAP="$VG --log-file=$PWD/$LOGS/{name}.%p.log" tests/test_bad_inputs.sh \
    >"$tmp/catalogue.out" 2>&1
rc=$?
echo "valgrind: catalogue: $(tail -n 1 "$tmp/catalogue.out")"
if [[ $rc -ne 0 ]]; then
    # failures of the catalogue's own assertions are reported by make test as well; exit 99
    # from memcheck shows up as a non-empty log below
    grep -E '^FAIL' "$tmp/catalogue.out" | sed 's/^/    /' | head -n 20
    status=1
fi

if [[ -x $AELAB && -f $AELAB_DATA/mnist/train-images-idx3-ubyte ]]; then
    run_training shipped-binary "$AELAB"
fi

findings=0
for log in "$LOGS"/*.log; do
    [[ -s $log ]] || continue
    findings=$((findings + 1))
    echo "valgrind: memcheck finding in $log:"
    grep -E '^==[0-9]+== ([A-Z]|   (at|by) )' "$log" | head -n 12 | sed 's/^/    /'
done
nlogs=$(find "$LOGS" -name '*.log' | wc -l)
echo "valgrind: $nlogs processes checked, $findings with memcheck findings"
[[ $findings -eq 0 ]] || status=1
exit $status
