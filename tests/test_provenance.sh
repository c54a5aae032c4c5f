#!/usr/bin/env bash
# tests/test_provenance.sh — what config.yaml's provenance records (runner/provenance.h): the
# config file's repository (a git repository made here: its commit, then dirty after an edit),
# host, CPU model, compiler, library versions, the command line, each data file's size and
# XXH3-128 (checked against Python's xxhash), and the end of the run (finished, wall_seconds,
# exit_status), each against what the system says independently.
set -u
cd "$(dirname "$0")/.."
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then echo "skip: $AELAB not built"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export AELAB_CACHE=$tmp/cache
# prov FILE KEY: the value of KEY in FILE's provenance mapping (a plain scalar the emitter folded
# over several lines joined again with spaces)
prov() {
    sed -n '/^provenance:/,$p' "$1" | awk -v k="  $2: " '
        found && /^    / { sub(/^ +/, ""); v = v " " $0; next }
        found { exit }
        index($0, k) == 1 { v = substr($0, length(k) + 1); found = 1 }
        END { print v }'
}
want() { if [[ $1 == "$2" ]]; then ok; else bad "$3: got '$1', expected '$2'"; fi; }
# "PATH (N bytes, xxh3 HEX)" of a file, computed by Python's xxhash (Debian's python3-xxhash)
python_with xxhash || PY=python3
xxh3() {
    "$PY" -c 'import os, sys, xxhash; p = sys.argv[1]; b = open(p, "rb").read(); print("%s (%d bytes, xxh3 %s)" % (p, len(b), xxhash.xxh3_128_hexdigest(b)))' "$1"
}

repo=$tmp/repo
mkdir -p "$repo/exp"
git -C "$repo" init -q
cat >"$repo/exp/p.yaml" <<'YAML'
name: prov
seed: 2
pipeline:
  - load_dataset: {name: mnist, batch_size: 100, subset: 200, test_subset: 100}
  - pretrain_layer: {units: 8, optimizer: {name: sgd, lr: 0.5}, epochs: 1}
YAML
skip_without_mnist "$repo/exp/p.yaml"
git -C "$repo" add exp/p.yaml
git -C "$repo" -c user.name=t -c user.email=t@t commit -qm config
head=$(git -C "$repo" rev-parse --short=12 HEAD)

expect 0 "$AELAB" run "$repo/exp/p.yaml" --out "$tmp/a" -q --no-plots --threads 1 --no-cache
c=$tmp/a/config.yaml
want "$(prov "$c" config_git_commit)" "$head" "config_git_commit"
want "$(prov "$c" config_git_describe)" "$head" "config_git_describe"
want "$(prov "$c" config_git_dirty)" "false" "config_git_dirty (clean)"
want "$(prov "$c" git_commit)" "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" "git_commit (the working directory's)"
want "$(prov "$c" host)" "$(hostname)" "host"
want "$(prov "$c" cpu_model)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "cpu_model"
want "$(prov "$c" command)" "$AELAB run $repo/exp/p.yaml --out $tmp/a -q --no-plots --threads 1 --no-cache" "command"
want "$(prov "$c" exit_status)" "0" "exit_status"
want "$(prov "$c" blas_core)" "$("$AELAB" --version | sed -n 's/.*(core \(.*\))$/\1/p')" "blas_core"
[[ $(prov "$c" compiler) == gcc\ * || $(prov "$c" compiler) == clang\ * ]] && ok || bad "compiler: $(prov "$c" compiler)"
[[ $(prov "$c" cflags) == *-O2* ]] && ok || bad "cflags: $(prov "$c" cflags)"
for k in libyaml zlib libcsv; do
    [[ $(prov "$c" $k) =~ ^[0-9]+\.[0-9]+(\.[0-9]+)*$ ]] && ok || bad "$k: '$(prov "$c" $k)'"
done
# finished >= date (ISO 8601 UTC sorts as text), wall_seconds a number > 0
start=$(prov "$c" date) end=$(prov "$c" finished)
[[ $end =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ && ! $end < $start ]] && ok || bad "finished '$end' vs date '$start'"
awk -v w="$(prov "$c" wall_seconds)" 'BEGIN { exit !(w > 0 && w < 600) }' && ok || bad "wall_seconds $(prov "$c" wall_seconds)"
# every data file: its path, size and XXH3-128 (as the stage cache keys it), as Python's xxhash
# computes them
n=0
while IFS= read -r line; do
    key=${line%%: *} v=${line#*: }
    path=${v% (*}
    got=$(xxh3 "$path")
    want "$v" "$got" "$key"
    n=$((n + 1))
done < <(sed -n '/^provenance:/,$p' "$c" | sed -n 's/^  \(data\.[a-z_]*: .*\)/\1/p')
want "$n" 4 "data files recorded"
# the existing keys keep their place at the top (tests grep the first lines of the mapping)
want "$(sed -n '/^provenance:/{n;p;n;p;n;p;n;p;n;p}' "$c" | cut -d: -f1 | tr -d ' ' | tr '\n' ,)" \
    "version,git_commit,seed,backend,threads," "the first keys"

# an edited config: the same commit, dirty
echo "description: edited" >>"$repo/exp/p.yaml"
expect 0 "$AELAB" run "$repo/exp/p.yaml" --out "$tmp/b" -q --no-plots --threads 1 --no-cache
want "$(prov "$tmp/b/config.yaml" config_git_dirty)" "true" "config_git_dirty (edited)"
want "$(prov "$tmp/b/config.yaml" config_git_describe)" "$head-dirty" "config_git_describe (edited)"
# a config outside any repository
cp "$repo/exp/p.yaml" "$tmp/loose.yaml"
expect 0 "$AELAB" run "$tmp/loose.yaml" --out "$tmp/c" -q --no-plots --threads 1 --no-cache
want "$(prov "$tmp/c/config.yaml" config_git_commit)" "unknown" "config_git_commit (no repository)"
# a failed run records its exit status too (a write that fails: the summary's path is a directory)
mkdir -p "$tmp/d/summary.csv"
expect 1 "$AELAB" run "$tmp/loose.yaml" --out "$tmp/d" -q --no-plots --threads 1 --no-cache
want "$(prov "$tmp/d/config.yaml" exit_status)" "1" "exit_status of a failed run"
# the hashes are remembered in the stage cache's file-hash index: a second run reads them from
# $AELAB_CACHE/filehash.idx (same values), a rewritten file is read again
crcs() { sed -n '/^provenance:/,$p' "$1" | grep '^  data\.'; }
expect 0 "$AELAB" run "$tmp/loose.yaml" --out "$tmp/m1" -q --no-plots --threads 1
[[ $(wc -l <"$AELAB_CACHE/filehash.idx") -ge 4 ]] && ok || bad "filehash.idx: $(cat "$AELAB_CACHE/filehash.idx")"
expect 0 "$AELAB" run "$tmp/loose.yaml" --out "$tmp/m2" -q --no-plots --threads 1
[[ $(crcs "$tmp/m2/config.yaml") == "$(crcs "$tmp/a/config.yaml")" ]] && ok || bad "memo: $(crcs "$tmp/m2/config.yaml")"
printf '0,1,2\n1,3,4\n' >"$tmp/t.csv"
cat >"$tmp/csv.yaml" <<YAML
name: provcsv
pipeline:
  - load_dataset: {name: csv, train_csv: $tmp/t.csv, label_column: 0, batch_size: 2}
  - pretrain_layer: {units: 2, optimizer: {name: sgd, lr: 0.5}, epochs: 1}
YAML
for content in '0,1,2\n1,3,4\n' '0,9,9\n1,8,8\n'; do
    printf "$content" >"$tmp/t.csv"
    expect 0 "$AELAB" run "$tmp/csv.yaml" --out "$tmp/csvrun" -q --no-plots --threads 1
    want "$(prov "$tmp/csvrun/config.yaml" data.train_csv)" \
        "$(xxh3 "$tmp/t.csv")" \
        "data.train_csv after a rewrite"
done
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
