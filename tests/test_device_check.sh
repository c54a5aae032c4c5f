#!/usr/bin/env bash
# tests/test_device_check.sh — scripts/device_check.sh (`make device-check`) without a GPU:
#   1. no nvidia-smi, or one that lists no GPU: one line, exit 77;
#   2. DEVICE_CHECK_FAKE=cpu (the CPU on both sides, two short experiments, one a sweep): every
#      step passes, and the report (report.md, steps.csv, compare.csv, paths.csv: the training
#      paths of tests/backend_compare.h, per tensor) has its format;
#   3. a run whose results differ (a wrapper around aelab scales the second side's summary) fails
#      the check, names the value, and exits non-zero.
set -u
cd "$(dirname "$0")/.." || exit 1
AELAB=${AELAB:-bin/aelab}
source tests/assert.sh
tmp=$(mktemp -d /tmp/aelab-device-check-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# 1. no GPU
mkdir -p "$tmp/nosmi" "$tmp/smi"
for t in awk basename bash cat cut date dirname env grep head nproc rm mkdir sed sort tail tr wc; do
    ln -s "$(command -v $t)" "$tmp/nosmi/$t"
done
expect 77 env PATH="$tmp/nosmi" bash scripts/device_check.sh
contains "device-check: skipped: no NVIDIA GPU here (nvidia-smi not found); nothing was checked"
if [[ $(wc -l <<<"$out") -eq 1 ]]; then ok; else bad "more than one line without a GPU: $out"; fi
printf '#!/bin/sh\necho "No devices were found"\nexit 6\n' >"$tmp/smi/nvidia-smi"
chmod +x "$tmp/smi/nvidia-smi"
expect 77 env PATH="$tmp/smi:$PATH" bash scripts/device_check.sh
contains "device-check: skipped: no NVIDIA GPU here (nvidia-smi -L: No devices were found)"

# 2. the pipeline, the CPU on both sides
knobs=(DEVICE_CHECK_FAKE=cpu DEVICE_CHECK_BUILD=0 DEVICE_CHECK_SUBSET=500 DEVICE_CHECK_TEST_SUBSET=100
       DEVICE_CHECK_THREADS=2 DEVICE_CHECK_OUT="$tmp/dc")
exps=(lecture19_sparse_l1 sweep_lecture19_l1_weight)
expect 0 env "${knobs[@]}" AELAB="$AELAB" bash scripts/device_check.sh "${exps[@]}"
contains "device-check: PASS; report: $tmp/dc/report.md"
for f in report.md steps.csv compare.csv paths.csv; do expect 0 test -s "$tmp/dc/$f"; done
expect 0 cat "$tmp/dc/steps.csv"
contains "step,status,seconds,detail"
contains "gradcheck,pass,"; contains "determinism,pass,"; contains "memcheck,skip,"
contains "backend-compare,pass,"
contains "experiment:lecture19_sparse_l1,pass,"; contains "experiment:sweep_lecture19_l1_weight,pass,"
lacks ",fail,"
expect 0 cat "$tmp/dc/compare.csv"
contains "experiment,key,cpu,cpu,abs_diff,tolerance,status"
contains "lecture19_sparse_l1,attach_classifier_test_accuracy,"
contains "sweep_lecture19_l1_weight,point0.test_accuracy,"
lacks ",fail"
expect 0 cat "$tmp/dc/report.md"
contains "# aelab device check"; contains "| determinism | pass |"; contains "Result: PASS"
# the training paths' figures (test_gpu --self --paths: the CPU on both sides, so exact)
contains "## Training paths, cpu vs cpu (tests/backend_compare.h; per tensor in paths.csv)"
ncases=$(grep -c '^case [0-9]*: ' "$tmp/dc/logs/backend-compare.log")
contains "training paths, cpu vs cpu: $ncases cases,"; contains ", 0 failures"
contains "  gradients:  max |err| 0, max |err|/max|ref| 0,"
expect 0 cat "$tmp/dc/paths.csv"
contains "case,what,tensor,n,max_abs_ref,max_abs_err,err_over_max_ref,fraction_of_tolerance"
contains "pretrain_layer tanh/sigmoid mse sgd (fused),gradient,enc[0].dW,576,"
ntensors=$(sed -n 's/^training paths, .* cases, \([0-9]*\) tensors.*/\1/p' "$tmp/dc/report.md")
if [[ -n $ntensors && $(($(wc -l <"$tmp/dc/paths.csv") - 1)) -eq $ntensors ]]; then ok
else bad "paths.csv has $(($(wc -l <"$tmp/dc/paths.csv") - 1)) rows, the report counts '${ntensors}' tensors"; fi

# 3. a difference is caught: the second side's summary.csv values scaled by 1.1
cat >"$tmp/aelab" <<EOF
#!/usr/bin/env bash
"$(realpath "$AELAB")" "\$@"; rc=\$?
for ((i = 1; i < \$#; i++)); do [[ \${!i} == --out ]] && { j=\$((i + 1)); dir=\${!j}; }; done
if [[ \$rc -eq 0 && \${dir:-} == */cpu/lecture19_sparse_l1 ]]; then
    awk -F, 'BEGIN { OFS = "," } NR > 1 && \$2 != "" { \$2 = \$2 * 1.1 } { print }' "\$dir/summary.csv" >"\$dir/s" && mv "\$dir/s" "\$dir/summary.csv"
fi
exit \$rc
EOF
chmod +x "$tmp/aelab"
expect 1 env "${knobs[@]}" DEVICE_CHECK_OUT="$tmp/dc2" AELAB="$tmp/aelab" bash scripts/device_check.sh lecture19_sparse_l1
contains "device-check: FAIL: 1 step(s) failed"
contains "outside tolerance"
expect 0 grep -c ',fail$' "$tmp/dc2/compare.csv"
expect 0 cat "$tmp/dc2/report.md"
contains "| experiment:lecture19_sparse_l1 | fail |"; contains "Result: FAIL (1 step(s))"

echo "device check: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
