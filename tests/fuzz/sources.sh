# shellcheck shell=bash disable=SC2034
# tests/fuzz/sources.sh — what each fuzz harness is built from (sourced by tests/fuzz/run.sh, which
# builds with clang and libFuzzer, and by tests/test_bad_inputs.sh, which builds the same
# harness with gcc and tests/fuzz/replay_main.c to replay the saved reproducers in make test).
FUZZ_HARNESSES=(fuzz_config fuzz_set fuzz_idx fuzz_checkpoint fuzz_csv)
# the seed generator of fuzz_idx and fuzz_checkpoint (tests/fuzz/gen_seeds.c)
GEN_SEEDS_SRC="runner/data.c runner/datain.c runner/datacsv.c runner/fsutil.c runner/xalloc.c engine/dataset.c engine/checkpoint.c engine/model.c engine/cpu_backend.c engine/common.c"
declare -A FUZZ_SRC=(
    [fuzz_config]="runner/config.c runner/diag.c runner/schema.c runner/yamldoc.c runner/fsutil.c runner/xalloc.c runner/plan.c runner/machine.c runner/data.c runner/datain.c runner/datacsv.c runner/datacheck.c runner/datasets.c runner/datapath.c engine/dataset.c engine/common.c engine/cpu_bf16.c"
    [fuzz_set]="runner/config.c runner/diag.c runner/schema.c runner/yamldoc.c runner/fsutil.c runner/xalloc.c runner/plan.c runner/machine.c runner/data.c runner/datain.c runner/datacsv.c runner/datacheck.c runner/datasets.c runner/datapath.c engine/dataset.c engine/common.c engine/cpu_bf16.c"
    [fuzz_idx]="runner/data.c runner/datain.c runner/datacsv.c runner/fsutil.c runner/xalloc.c engine/dataset.c engine/common.c"
    [fuzz_checkpoint]="engine/checkpoint.c engine/model.c engine/cpu_backend.c engine/common.c"
    [fuzz_csv]="runner/csvout.c runner/fsutil.c runner/xalloc.c engine/common.c"
)
# pkg-config packages and extra libraries (the CPU backend calls omp_* functions; its pragmas
# are left off, so the harness runs on one thread)
declare -A FUZZ_PKGS=(
    [fuzz_config]="yaml-0.1 zlib" [fuzz_set]="yaml-0.1 zlib" [fuzz_idx]="zlib"
    [fuzz_checkpoint]="openblas zlib" [fuzz_csv]=""
)
declare -A FUZZ_LIBS=([fuzz_config]="-lcsv" [fuzz_set]="-lcsv" [fuzz_idx]="-lcsv" [fuzz_checkpoint]="-lgomp" [fuzz_csv]="-lcsv")
