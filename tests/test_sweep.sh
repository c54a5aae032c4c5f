#!/usr/bin/env bash
# tests/test_sweep.sh — sweeps end to end on a tiny config (1,000 MNIST images, 300 test images,
# one epoch per stage, no per-run plots: each point well under a second):
#   --list; a 2x2 grid with -j 2 (4 run directories, sweep.csv with 4 rows and the parameter
#   columns, the plot); a re-run that skips all 4; a changed --set that makes them stale;
#   --emit commands run through GNU parallel, whose collected sweep.csv must equal the -j one
#   (timing and cache columns aside); --emit slurm checked with bash -n, its array bounds, and
#   run locally with a stand-in sbatch; a sweep with failing points (exit 2 for them, the others
#   complete, exit 1, mean and std across seeds); Ctrl-C (exit 130); usage errors.
# The stage cache goes to a temp directory (AELAB_CACHE), separate for the -j and parallel runs.
# Usage: AELAB=bin/aelab tests/test_sweep.sh   (skips, exit 77, without the binary or MNIST)
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then
    echo "skip: $AELAB is not built"
    exit 77
fi
AELAB=$(cd "$(dirname "$AELAB")" && pwd)/$(basename "$AELAB")
ASSERT_QUOTE=1500
source tests/assert.sh
# col FILE NAME: the values of column NAME (no quoted commas in these files)
col() { awk -F, -v n="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==n) c=i; next} {print (c ? $c : "NO-COLUMN")}' "$1"; }
# sans_timing FILE: the CSV without the columns that depend on timing and the cache's state
sans_timing() {
    awk -F, 'NR==1{for(i=1;i<=NF;i++) drop[i]=($i=="seconds"||$i=="stages_trained"||$i=="stages_reused")}
             {s=""; for(i=1;i<=NF;i++) if(!drop[i]) s=s (s==""?"":",") $i; print s}' "$1"
}

tmp=$(mktemp -d /tmp/aelab-sweep-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export AELAB_CACHE=$tmp/cache-j

cat >"$tmp/tiny.yaml" <<'YAML'
name: tiny
seed: 1
pipeline:
  - load_dataset: {name: mnist, subset: 1000, test_subset: 300, batch_size: 100}
  - add_sparsity: {kind: l1, weight: 0.01}
  - pretrain_layer: {units: 32, activation: tanh, decoder_activation: sigmoid, loss: mse,
                     optimizer: {name: sgd, lr: 0.5}, epochs: 1}
  - strip_decoder
  - attach_classifier: {classes: 10, loss: nll, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
  - evaluate: {split: test}
YAML
if ! "$AELAB" check "$tmp/tiny.yaml" >/dev/null 2>"$tmp/check.err"; then
    echo "skip: MNIST is not available ($(head -n 1 "$tmp/check.err")); run 'make data'"
    exit 77
fi
F=$tmp/tiny.yaml
GRID=(--set add_sparsity.weight=0.01,0.1 --set 'attach_classifier.optimizer.lr=0.1, 0.5')
R=$tmp/grid

# --list: the points, without running anything
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$R" --list
contains "sweep of tiny: 4 points = add_sparsity.weight (2) x attach_classifier.optimizer.lr (2)"
contains "0  add_sparsity.weight=0.01 attach_classifier.optimizer.lr=0.1  $R/sweep/0_add_sparsity.weight=0.01_attach_classifier.optimizer.lr=0.1"
contains "3  add_sparsity.weight=0.1 attach_classifier.optimizer.lr=0.5  $R/sweep/3_add_sparsity.weight=0.1_attach_classifier.optimizer.lr=0.5"
if [[ $(grep -c '^[0-9]  ' <<<"$out") -eq 4 ]]; then ok; else bad "--list should print 4 points"; fi
if [[ ! -e $R ]]; then ok; else bad "--list created $R"; fi

# the grid, 2 at a time
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$R" -j 2 --no-plots
contains "running 4 points, 2 at a time"
contains "wrote $R/sweep.csv (4 points, 4 ok)"
ndirs=$(find "$R/sweep" -mindepth 1 -maxdepth 1 -type d | wc -l)
if [[ $ndirs -eq 4 ]]; then ok; else bad "expected 4 run directories, found $ndirs"; fi
for d in "$R"/sweep/*/; do
    for f in summary.csv metrics.csv config.yaml point.status stderr.log; do
        [[ -s $d/$f ]] && ok || bad "$d lacks $f"
    done
done
if [[ $(wc -l <"$R/sweep.csv") -eq 5 ]]; then ok; else bad "sweep.csv should have 1 + 4 rows: $(cat "$R/sweep.csv")"; fi
if head -n 1 "$R/sweep.csv" | grep -q '^point,add_sparsity.weight,attach_classifier.optimizer.lr,status,exit_code,seconds,stages_trained,stages_reused,run_dir,.*test_accuracy'; then ok
else bad "sweep.csv header: $(head -n 1 "$R/sweep.csv")"; fi
[[ $(col "$R/sweep.csv" add_sparsity.weight | tr '\n' ' ') == "0.01 0.01 0.1 0.1 " ]] && ok || bad "weight column: $(col "$R/sweep.csv" add_sparsity.weight)"
[[ $(col "$R/sweep.csv" attach_classifier.optimizer.lr | tr '\n' ' ') == "0.1 0.5 0.1 0.5 " ]] && ok || bad "lr column"
[[ $(col "$R/sweep.csv" status | sort -u) == ok ]] && ok || bad "status column: $(col "$R/sweep.csv" status)"
# each row's metric is its run directory's
for k in 0 3; do
    d=$(col "$R/sweep.csv" run_dir | sed -n "$((k + 1))p")
    want=$(awk -F, '$1=="test_accuracy"{print $2}' "$R/$d/summary.csv")
    got=$(col "$R/sweep.csv" test_accuracy | sed -n "$((k + 1))p")
    [[ -n $want && $got == "$want" ]] && ok || bad "point $k: sweep.csv test_accuracy '$got', summary.csv '$want'"
done
# the resolved config of a point holds its parameters
grep -q 'weight: 0.1' "$R/sweep/3_add_sparsity.weight=0.1_attach_classifier.optimizer.lr=0.5/config.yaml" && ok || bad "point 3's config.yaml lacks weight 0.1"
# the pretraining is shared by the points with the same weight (stage cache): 2 pretrainings and 4
# classifiers trained in all
trained=$(col "$R/sweep.csv" stages_trained | awk '{s+=$1} END{print s+0}')
[[ $trained -eq 6 ]] && ok || bad "expected 6 stages trained across the sweep (2 shared pretrainings), got $trained"

# a re-run skips every complete point
before=$(stat -c %Y "$R"/sweep/*/summary.csv | md5sum)
start=$(date +%s.%N)
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$R" -j 2
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
contains "4 of 4 points already complete, skipped"
lacks "running"
[[ $(stat -c %Y "$R"/sweep/*/summary.csv | md5sum) == "$before" ]] && ok || bad "the re-run rewrote summaries"
echo "re-run of a complete sweep: $secs s" # reported; "nothing rewritten" above is the property
# with the plot this time (rendered when gnuplot exists)
[[ -s $R/sweep_plots/test_accuracy.gp && -s $R/sweep_plots/test_accuracy.dat ]] && ok || bad "no sweep plot script"
if command -v gnuplot >/dev/null; then
    [[ -s $R/sweep_plots/test_accuracy.png ]] && ok || bad "no sweep plot PNG"
fi
# the same points under another --set are not complete
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$R" --set attach_classifier.epochs=2 --list
lacks "(complete)"
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$R" --list
contains "4 of 4 points complete"

# --point K runs one point; a complete one is skipped
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$R" --point 2
contains "point 2 already complete"
expect 2 "$AELAB" run "$F" "${GRID[@]}" --out "$R" --point 4
contains "--point 4: the sweep has 4 points (0 to 3)"

# --emit commands through GNU parallel, then --collect: the same sweep.csv as -j
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$tmp/par" --emit commands -j 2 --no-plots
cmds=$out
if [[ $(wc -l <<<"$cmds") -eq 4 ]] && grep -q -- "--point 3 --threads [0-9]* --no-plots -q$" <<<"$cmds"; then ok
else bad "--emit commands: $cmds"; fi
if command -v parallel >/dev/null; then
    AELAB_CACHE=$tmp/cache-par parallel -j 2 --halt never <<<"$cmds" >"$tmp/par.log" 2>&1
    [[ $? -eq 0 ]] && ok || bad "the emitted commands failed under parallel: $(tail -n 20 "$tmp/par.log")"
    expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$tmp/par" --collect --no-plots
    contains "(4 points, 4 ok)"
    if diff <(sans_timing "$R/sweep.csv") <(sans_timing "$tmp/par/sweep.csv") >"$tmp/diff"; then ok
    else bad "sweep.csv from parallel differs from -j: $(cat "$tmp/diff")"; fi
else
    echo "note: GNU parallel is not installed (Debian package 'parallel'; make deps); skipped the parallel run"
fi

# --emit slurm: a job array 0-3 whose task 0 submits the collecting job
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$R" --emit slurm
sb=$R/sweep.sbatch
[[ $out == "$sb" ]] && ok || bad "--emit slurm printed '$out', expected $sb"
bash -n "$sb" && ok || bad "$sb is not valid bash"
grep -qx '#SBATCH --array=0-3' "$sb" && ok || bad "$sb lacks '#SBATCH --array=0-3'"
grep -q -- '--dependency=afterany:"$SLURM_ARRAY_JOB_ID"' "$sb" && ok || bad "$sb lacks the afterany dependency"
# run it as Slurm would, with a stand-in sbatch that keeps the collecting job's script
mkdir -p "$tmp/bin"
cat >"$tmp/bin/sbatch" <<EOF
#!/bin/bash
echo "\$*" >>"$tmp/sbatch.args"
cat >"$tmp/collect.sh"
echo 1234
EOF
chmod +x "$tmp/bin/sbatch"
for k in 0 1 2 3; do
    PATH=$tmp/bin:$PATH SLURM_ARRAY_JOB_ID=77 SLURM_ARRAY_TASK_ID=$k SLURM_CPUS_PER_TASK=1 \
        bash "$sb" >"$tmp/task$k.log" 2>&1 && ok || bad "array task $k failed: $(cat "$tmp/task$k.log")"
done
[[ $(wc -l <"$tmp/sbatch.args" 2>/dev/null) -eq 1 ]] && ok || bad "task 0 should submit one job"
grep -q -- '--dependency=afterany:77' "$tmp/sbatch.args" && ok || bad "collect job args: $(cat "$tmp/sbatch.args")"
rm -f "$R/sweep.csv"
bash "$tmp/collect.sh" >"$tmp/collect.log" 2>&1 && ok || bad "the collecting job failed: $(cat "$tmp/collect.log")"
[[ $(wc -l <"$R/sweep.csv" 2>/dev/null) -eq 5 ]] && ok || bad "the collecting job wrote no sweep.csv"

# failing points: lr -1 is out of range (exit 2 for those points); the others complete; seeds vary
B=$tmp/bad
expect 1 "$AELAB" run "$F" --set attach_classifier.optimizer.lr=0.1,-1 --set seed=1,2 --out "$B" -j 2 --no-plots
contains "FAILED with exit code 2"
contains "attach_classifier.optimizer.lr: expected a number > 0"
contains "2 of 4 points failed"
[[ $(col "$B/sweep.csv" status | tr '\n' ' ') == "ok ok failed failed " ]] && ok || bad "statuses: $(col "$B/sweep.csv" status)"
[[ $(col "$B/sweep.csv" exit_code | tr '\n' ' ') == "0 0 2 2 " ]] && ok || bad "exit codes: $(col "$B/sweep.csv" exit_code)"
[[ $(col "$B/sweep.csv" seed | tr '\n' ' ') == "1 2 1 2 " ]] && ok || bad "seeds: $(col "$B/sweep.csv" seed)"
grep -q 'error: ' "$B"/sweep/2_*/stderr.log && ok || bad "the failed point's stderr.log lacks its error"
# sweep_by_params.csv: mean and sample std of the two seeds
bp=$B/sweep_by_params.csv
if [[ -s $bp ]] && head -n 1 "$bp" | grep -q '^attach_classifier.optimizer.lr,n,.*test_accuracy_mean,test_accuracy_std'; then ok
else bad "sweep_by_params.csv: $(cat "$bp" 2>/dev/null)"; fi
[[ $(col "$bp" n | tr '\n' ' ') == "2 0 " ]] && ok || bad "by-params n: $(col "$bp" n)"
want=$(col "$B/sweep.csv" test_accuracy | head -n 2 | awk '{x[NR]=$1} END{m=(x[1]+x[2])/2; printf "%.4f %.4f", m, sqrt((x[1]-m)^2+(x[2]-m)^2)}')
got=$(awk -F, -v m="$(col "$bp" test_accuracy_mean | head -n 1)" -v s="$(col "$bp" test_accuracy_std | head -n 1)" 'BEGIN{printf "%.4f %.4f", m, s}')
[[ $got == "$want" ]] && ok || bad "mean/std across seeds: got $got, want $want"
# re-running retries the failed points only
expect 1 "$AELAB" run "$F" --set attach_classifier.optimizer.lr=0.1,-1 --set seed=1,2 --out "$B" -j 2 --no-plots
contains "2 of 4 points already complete, skipped"

# Ctrl-C: the running points stop after their batch, no new one starts, exit 130
cat >"$tmp/slow.yaml" <<'YAML'
name: slow
pipeline:
  - load_dataset: {name: mnist, subset: 1000, test_subset: 300, batch_size: 100}
  - pretrain_layer: {units: 32, optimizer: {name: sgd, lr: 0.5}, epochs: 100000}
  - strip_decoder
  - attach_classifier: {classes: 10, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
YAML
"$AELAB" run "$tmp/slow.yaml" --set seed=1,2,3,4 --out "$tmp/slow" -j 2 --no-plots >"$tmp/slow.log" 2>&1 &
pid=$!
for _ in $(seq 50); do  # wait until both points are training
    [[ $(grep -l 'epoch 2/' "$tmp"/slow/sweep/*/stderr.log 2>/dev/null | wc -l) -ge 2 ]] && break
    sleep 0.1
done
start=$(date +%s.%N)
kill -INT $pid
wait $pid
rc=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
[[ $rc -eq 130 ]] && ok || bad "interrupted sweep exited $rc, expected 130: $(tail -n 5 "$tmp/slow.log")"
# it stops after the current batch: seconds; 30 s means it did not react (a hang), however loaded
awk -v s="$secs" 'BEGIN{exit !(s < 30)}' && ok || bad "the interrupted sweep took $secs s to stop"
[[ $(col "$tmp/slow/sweep.csv" status | tr '\n' ' ') == "interrupted interrupted missing missing " ]] && ok ||
    bad "statuses after Ctrl-C: $(col "$tmp/slow/sweep.csv" status)"
grep -q 'sweep interrupted' "$tmp/slow.log" && ok || bad "no 'sweep interrupted' message: $(tail -n 5 "$tmp/slow.log")"

# usage errors
expect 2 "$AELAB" run "$F" --list
contains "--list is for sweeps"
expect 2 "$AELAB" run "$F" --set seed=1,,2 --list
contains "--set seed=1,,2: error: empty value (item 2 of 3)"
expect 2 "$AELAB" run "$F" --set seed=1,2 --emit pdf
contains "--emit: expected commands or slurm, got 'pdf'"
expect 2 "$AELAB" run "$F" --set seed=1,2 --list --collect
contains "cannot be combined"
expect 2 "$AELAB" run "$F" --set pretrain_layer.units=0,-1 --list
contains "no point of the sweep has a valid config"
# check validates every point
expect 2 "$AELAB" check "$F" --set pretrain_layer.units=8,0
contains "aelab check: point 1 (pretrain_layer.units=0):"
contains "1 of 2 points have errors"

echo "test_sweep.sh: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
