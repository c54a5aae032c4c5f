#!/usr/bin/env bash
# tests/test_slurm.sh — `make test-slurm` (not part of `make test`): a sweep through a real
# single-node Slurm brought up here. Installs slurm-wlm and munge with apt-get when they are
# missing (as scripts/deps.sh does), then starts munged, slurmctld and slurmd on localhost with a
# key and a slurm.conf written under a temp directory (the node has this machine's CPUs and
# memory, select/cons_tres so that tasks share it, proctrack/linuxproc: no cgroups, no systemd;
# MaxArraySize 3, so that the 4-point sweep needs two arrays; its only partition is not the
# default, so that every job must carry --partition), and stops them by PID at the end.
#   1. a 2x2 sweep (300 MNIST images, 1-epoch stages) emitted with --sbatch --partition=...:
#      the array and the collecting job carry the resources and the option; point 3 is made to
#      fail (a directory where its config.yaml goes), and --collect names it with its log;
#   2. --emit slurm --missing re-submits point 3 alone; the collected sweep.csv must equal a
#      local -j 2 run cell by cell (timing and stage columns aside); the autoencoder stage
#      that all points share: how often it was trained and reused across the tasks (asserted
#      "trained once" only when this aelab's stage cache locks across processes: `aelab cache`);
#   3. a script submitted without the partition: task 0 cannot submit the collecting job, says
#      so in its log, and its point runs all the same.
# Skips (exit 77) without root and apt, without MNIST, or when Slurm cannot start here.
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
if [[ ${AELAB_TEST_SLURM:-} != 1 ]]; then
    echo "skip: brings up a local Slurm cluster; run it with 'make test-slurm'"
    exit 77
fi
if [[ ! -x $AELAB ]]; then
    echo "skip: $AELAB is not built"
    exit 77
fi
AELAB=$(cd "$(dirname "$AELAB")" && pwd)/$(basename "$AELAB")
ASSERT_QUOTE=2000
source tests/assert.sh
source scripts/blas_core.sh
blas_core_export "$AELAB" # the local run and the tasks (the script exports it) use the same kernels
col() { awk -F, -v n="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==n) c=i; next} {print (c ? $c : "NO-COLUMN")}' "$1"; }
sans_timing() {
    awk -F, 'NR==1{for(i=1;i<=NF;i++) drop[i]=($i=="seconds"||$i=="stages_trained"||$i=="stages_reused")}
             {s=""; for(i=1;i<=NF;i++) if(!drop[i]) s=s (s==""?"":",") $i; print s}' "$1"
}

# ---- Slurm and munge, installed when missing ----
have_slurm() { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; } >/dev/null 2>&1
if ! have_slurm; then
    as_root=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { echo "skip: slurm-wlm and munge are not installed, and not root and no sudo to install them"; exit 77; }
        as_root=(sudo)
    fi
    echo "test_slurm: installing slurm-wlm munge ..."
    if ! { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends slurm-wlm munge; } >/dev/null 2>&1 || ! have_slurm; then
        echo "skip: could not install slurm-wlm and munge with apt-get"
        exit 77
    fi
fi

tmp=$(mktemp -d /tmp/aelab-slurm-XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/tiny.yaml" <<'YAML'
name: tiny
seed: 1
pipeline:
  - load_dataset: {name: mnist, subset: 300, test_subset: 200, batch_size: 50}
  - pretrain_layer: {units: 32, activation: tanh, decoder_activation: sigmoid, loss: mse,
                     optimizer: {name: sgd, lr: 0.5}, epochs: 1}
  - strip_decoder
  - attach_classifier: {classes: 10, loss: nll, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
  - evaluate: {split: test}
YAML
skip_without_mnist "$tmp/tiny.yaml"

# ---- a single-node cluster on localhost ----
slurm_cannot_start() {
    echo "skip: Slurm cannot start here: $1"
    for f in "$tmp"/log/*.log "$tmp"/munge/munged.log; do
        [[ -s $f ]] && { echo "--- $f"; tail -n 5 "$f"; }
    done
    exit 77
}
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
sock=$tmp/munge/munge.socket
munged -F -f --key-file="$tmp/munge/munge.key" --socket="$sock" --pid-file="$tmp/munge/munged.pid" \
    --seed-file="$tmp/munge/munged.seed" --log-file="$tmp/munge/munged.log" >"$tmp/munge/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
[[ -S $sock ]] || slurm_cannot_start "munged did not start"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=$((20000 + RANDOM % 20000))
while ! port_free $port || ! port_free $((port + 1)); do port=$((port + 2)); done
cpus=$(nproc)
mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
[[ -n $mem ]] || mem=$(awk '/MemTotal/{print int($2 / 1024)}' /proc/meminfo)
user=$(id -un)
export SLURM_CONF=$tmp/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=aelabtest
SlurmctldHost=localhost
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
MaxArraySize=3
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=aelab Nodes=localhost Default=NO MaxTime=INFINITE State=UP
EOF
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
state=
for _ in $(seq 60); do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null)
    [[ $state == idle ]] && break
    sleep 0.5
done
[[ $state == idle ]] || slurm_cannot_start "the node is '${state:-unknown}' after 30 s, not idle"
echo "test_slurm: Slurm $(sinfo -V 2>/dev/null | awk '{print $2}') up on localhost ($cpus CPUs, $mem MiB; ports $port-$((port + 1)))"

# wait_jobs: until nothing is queued or running (at most 3 minutes)
wait_jobs() {
    for _ in $(seq 360); do
        [[ -z $(squeue -h 2>/dev/null) ]] && return 0
        sleep 0.5
    done
    bad "jobs still queued after 3 minutes: $(squeue 2>&1)"
    return 1
}
# job_field ID NAME: a field of `scontrol show job` (the job's first record)
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

F=$tmp/tiny.yaml
GRID=(--set attach_classifier.optimizer.lr=0.1,0.5 --set attach_classifier.epochs=1,2)
R=$tmp/slurm
L=$tmp/local
export AELAB_CACHE=$tmp/cache-slurm
P3=$R/sweep/3_attach_classifier.optimizer.lr=0.5_attach_classifier.epochs=2

# ---- 1. the array, in two chunks (MaxArraySize 3), with a failing point ----
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$R" --emit slurm --threads 1 --time 5 \
    --sbatch "--partition=aelab --comment=aelab-test" --no-plots
sb=$R/sweep.sbatch
grep -qx '#SBATCH --array=0-2' "$sb" && ok || bad "sweep.sbatch: $(grep '^#SBATCH' "$sb")"
grep -q 'for chunk in 3:0; do' "$sb" && ok || bad "no second chunk (MaxArraySize 3 from scontrol): $(grep -n chunk "$sb")"
grep -q 'MaxArraySize 3, from scontrol show config' "$sb" && ok || bad "the header does not say where MaxArraySize came from"
mem_mb=$(sed -n 's/^#SBATCH --mem=\([0-9]*\)M$/\1/p' "$sb")
[[ -n $mem_mb ]] && ok || bad "no --mem in sweep.sbatch"
mkdir -p "$P3/config.yaml" # point 3 cannot write its resolved config: exit 1
id=$(sbatch --parsable --export=NONE "$sb" 2>"$tmp/sbatch.err")
[[ $id =~ ^[0-9]+$ ]] && ok || bad "sbatch refused the array: $(cat "$tmp/sbatch.err")"
[[ $(job_field "${id}_0" Partition) == aelab ]] && ok || bad "array partition: $(job_field "${id}_0" Partition)"
[[ $(job_field "${id}_0" MinMemoryNode) == "${mem_mb}M" ]] && ok || bad "array memory: $(job_field "${id}_0" MinMemoryNode), want ${mem_mb}M"
[[ $(job_field "${id}_0" NumCPUs) == 1 ]] && ok || bad "array CPUs: $(job_field "${id}_0" NumCPUs)"
[[ $(job_field "${id}_0" TimeLimit) == 00:05:00 ]] && ok || bad "array time limit: $(job_field "${id}_0" TimeLimit)"
wait_jobs
lead=$R/sweep/slurm-${id}_0.out
grep -q "aelab: submitted the collecting job" "$lead" && ok || bad "task 0 did not submit the collecting job: $(cat "$lead")"
cid=$(sed -n 's/^aelab: submitted the collecting job \([0-9]*\).*/\1/p' "$lead")
chunk2=$(ls "$R"/sweep/slurm-*_0+3.out 2>/dev/null | head -n 1)
[[ -s $chunk2 ]] && ok || bad "no log of the second chunk (point 3): $(ls "$R/sweep")"
[[ -n $cid && $(job_field "$cid" Partition) == aelab ]] && ok || bad "collecting job $cid partition: $(job_field "$cid" Partition)"
[[ -n $cid && $(job_field "$cid" Comment) == aelab-test ]] && ok || bad "collecting job comment: $(job_field "$cid" Comment)"
[[ -n $cid && $(job_field "$cid" MinMemoryNode) == 1G ]] && ok || bad "collecting job memory: $(job_field "$cid" MinMemoryNode)"
[[ -n $cid && $(job_field "$cid" TimeLimit) == 00:05:00 ]] && ok || bad "collecting job time: $(job_field "$cid" TimeLimit)"
grep -q "(4 points, 3 ok)" "$R/sweep/slurm-collect-$cid.out" 2>/dev/null && ok ||
    bad "the collecting job's log: $(cat "$R/sweep/slurm-collect-$cid.out" 2>&1)"
[[ $(col "$R/sweep.csv" status | tr '\n' ' ') == "ok ok ok failed " ]] && ok || bad "statuses after the first array: $(col "$R/sweep.csv" status)"
# --collect names the failed point with its log and lists it for a re-submit
expect 1 "$AELAB" run "$F" "${GRID[@]}" --out "$R" --collect --no-plots
contains "aelab: point 3 (attach_classifier.optimizer.lr=0.5 attach_classifier.epochs=2): failed with exit code 1; log $chunk2"
contains "config.yaml"
contains "not complete: --array=3"
echo "$out" | sed -n '/^aelab: point 3/,/^not complete/p' | head -n 12

# ---- 2. the re-submit of what is missing; the same numbers as a local run ----
rm -rf "$P3/config.yaml"
expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$R" --emit slurm --missing --threads 1 --time 5 \
    --sbatch "--partition=aelab --comment=aelab-test" --no-plots
grep -qx '#SBATCH --array=0' "$sb" && ok || bad "--missing: $(grep '^#SBATCH --array' "$sb")"
grep -q '^offset=${1:-3}$' "$sb" && ok || bad "--missing: point 3 is task 0 of the chunk at 3: $(grep -n offset= "$sb")"
grep -q -- "--output=$R/sweep/slurm-%A_%a+3.out" "$sb" && ok || bad "--missing: the log name: $(grep -n -- --output "$sb")"
id2=$(sbatch --parsable --export=NONE "$sb" 2>"$tmp/sbatch.err")
[[ $id2 =~ ^[0-9]+$ ]] && ok || bad "sbatch refused the re-submit: $(cat "$tmp/sbatch.err")"
wait_jobs
grep -q "(4 points, 4 ok)" "$R"/sweep/slurm-collect-*.out && ok || bad "the second collecting job: $(cat "$R"/sweep/slurm-collect-*.out)"
AELAB_CACHE=$tmp/cache-local expect 0 "$AELAB" run "$F" "${GRID[@]}" --out "$L" -j 2 --threads 2 --no-plots
if diff <(sans_timing "$L/sweep.csv") <(sans_timing "$R/sweep.csv") >"$tmp/diff"; then ok
else bad "sweep.csv from Slurm differs from the local -j 2 run: $(cat "$tmp/diff")"; fi
ncells=$(sans_timing "$R/sweep.csv" | awk -F, 'NR>1{n+=NF} END{print n+0}')
echo "test_slurm: sweep.csv from Slurm equals the local -j 2 run, $ncells cells (timing and stage columns aside)"

# the autoencoder stage all four points share, across the array tasks
trained=$(cat "$R"/sweep/slurm-[0-9]*.out | grep -c 'pretrain_layer\] trained')
reused=$(cat "$R"/sweep/slurm-[0-9]*.out | grep -c 'pretrain_layer\] reused')
echo "test_slurm: the shared autoencoder stage across the array tasks: trained $trained, reused $reused"
[[ $((trained + reused)) -eq 4 ]] && ok || bad "expected 4 pretrain_layer stages in the task logs, got $trained trained + $reused reused"
if "$AELAB" cache --help >/dev/null 2>&1; then
    [[ $trained -eq 1 ]] && ok || bad "the stage cache locks across processes ('aelab cache' exists), yet the shared stage was trained $trained times"
else
    echo "test_slurm: note: this aelab has no 'aelab cache' (no cross-process lock on the stage cache): 'trained once' is not asserted"
fi

# ---- 3. no default partition: task 0's own submission fails, its point still runs ----
T=$tmp/nopart
expect 0 "$AELAB" run "$F" --set seed=1,2 --out "$T" --emit slurm --threads 1 --no-plots
id3=$(sbatch --parsable --partition=aelab "$T/sweep.sbatch" 2>"$tmp/sbatch.err")
[[ $id3 =~ ^[0-9]+$ ]] && ok || bad "sbatch refused the script: $(cat "$tmp/sbatch.err")"
wait_jobs
grep -q "aelab: error: the collecting job could not be submitted" "$T/sweep/slurm-${id3}_0.out" && ok ||
    bad "task 0's log does not report the failed submission: $(cat "$T/sweep/slurm-${id3}_0.out")"
grep -q "^done: .* results in $T/sweep/0_seed=1/" "$T/sweep/slurm-${id3}_0.out" && ok || bad "task 0's point did not run: $(cat "$T/sweep/slurm-${id3}_0.out")"
expect 0 "$AELAB" run "$F" --set seed=1,2 --out "$T" --collect --no-plots
contains "(2 points, 2 ok)"
grep -h "could not be submitted" "$T/sweep/slurm-${id3}_0.out" | head -n 1 | cut -c1-160

echo "test_slurm.sh: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
