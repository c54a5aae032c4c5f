#!/usr/bin/env bash
# tests/test_install.sh — `make install` into a temporary DESTDIR, then the installed tree used
# as a user would: the binary runs from anywhere and draws its plots with the templates of
# PREFIX/share/aelab/plots (an edited installed template shows up in the run); the man page is
# what docs/mkman.sh makes of this binary's --help (so it cannot drift) and renders without
# groff warnings; the bash completion completes commands, options, --set key paths from the
# schema and experiment files; `make uninstall` removes every file.
set -u
cd "$(dirname "$0")/.."
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then echo "skip: $AELAB not built"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export AELAB_CACHE=$tmp/cache
repo=$PWD
# install what $AELAB is: the sanitizer build under `make asan`; the CUDA library when built
mk=(make -s --no-print-directory)
[[ -f $(dirname "$AELAB")/libaelab-cuda.so ]] || mk+=(CUDA=0)
[[ $AELAB == *-asan ]] && mk+=(SAN=asan)
D=$tmp/dest P=/usr/local
expect 0 "${mk[@]}" install DESTDIR="$D" PREFIX="$P"
I=$D$P
for f in bin/aelab share/man/man1/aelab.1 share/bash-completion/completions/aelab \
         $(cd plots && printf 'share/aelab/plots/%s ' *.gp); do
    [[ -f $I/$f ]] && ok || bad "not installed: $f"
done
[[ $(stat -c %a "$I/bin/aelab") == 755 && $(stat -c %a "$I/share/man/man1/aelab.1") == 644 ]] &&
    ok || bad "modes: $(stat -c '%a %n' "$I/bin/aelab" "$I/share/man/man1/aelab.1")"
cmp -s "$I/bin/aelab" "$AELAB" && ok || bad "the installed binary is not $AELAB"
cmp -s "$I/share/aelab/plots/loss.gp" plots/loss.gp && ok || bad "loss.gp differs"

# the installed binary, run from elsewhere, finds its templates under PREFIX/share
mkdir -p "$tmp/elsewhere"
echo "# the installed copy" >>"$I/share/aelab/plots/loss.gp"
cat >"$tmp/elsewhere/t.yaml" <<'YAML'
name: installed
seed: 1
pipeline:
  - load_dataset: {name: mnist, batch_size: 100, subset: 200, test_subset: 100}
  - pretrain_layer: {units: 8, optimizer: {name: sgd, lr: 0.5}, epochs: 2}
YAML
cd "$tmp/elsewhere"
export AELAB_DATA=$repo/data
unset AELAB_PLOTS
expect 0 "$I/bin/aelab" --version
contains "aelab "
if "$I/bin/aelab" check t.yaml >/dev/null 2>&1; then
    if command -v gnuplot >/dev/null; then
        expect 0 "$I/bin/aelab" run t.yaml --out run -q --threads 1
        cmp -s run/plots/loss.gp "$I/share/aelab/plots/loss.gp" && ok ||
            bad "the run's loss.gp is not the installed template: $(tail -n 2 run/plots/loss.gp)"
        [[ -s run/loss.png ]] && ok || bad "no loss.png: $out"
    else
        expect 0 "$I/bin/aelab" run t.yaml --out run -q --threads 1 --no-plots
        echo "note: gnuplot missing, the installed templates were not drawn with"
    fi
else
    echo "note: MNIST missing, the installed binary was not run on data"
fi
cd "$repo"

# the man page: what docs/mkman.sh makes of this binary, rendered without warnings
if docs/mkman.sh "$AELAB" | cmp -s - docs/aelab.1; then ok
else bad "docs/aelab.1 differs from the help of $AELAB; run 'make man'"; docs/mkman.sh "$AELAB" | diff docs/aelab.1 - | head; fi
if command -v groff >/dev/null; then
    expect 0 groff -man -Tutf8 -ww -z "$I/share/man/man1/aelab.1"
    [[ -z $out ]] && ok || bad "groff warnings: $out"
    page=$(groff -man -Tutf8 "$I/share/man/man1/aelab.1" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g')
    for c in run check plot compare baseline runs diff export encode datasets gradcheck keys; do
        u=$("$AELAB" help "$c" | head -n 1)
        grep -qF -- "$u" <<<"$page" && ok || bad "the man page lacks '$u'"
    done
fi

# the bash completion, as bash calls it
comp() { # WORD...: the words typed; prints COMPREPLY
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _aelab; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$I/share/bash-completion/completions/aelab" "$I/bin/aelab" "$@"
}
[[ $(comp r | tr '\n' ' ') == "run runs " ]] && ok || bad "commands: $(comp r)"
[[ $(comp e | tr '\n' ' ') == "export encode " ]] && ok || bad "commands e: $(comp e)"
[[ $(comp run --se | tr '\n' ' ') == "--set " ]] && ok || bad "options: $(comp run --se)"
[[ $(comp run x.yaml --set pretrain_layer.optimizer.l) == "pretrain_layer.optimizer.lr=" ]] && ok ||
    bad "--set: $(comp run x.yaml --set pretrain_layer.optimizer.l)"
[[ $(comp keys --format j) == "json-schema" ]] && ok || bad "keys --format: $(comp keys --format j)"
[[ $(comp encode r --split te) == "test" ]] && ok || bad "--split: $(comp encode r --split te)"
[[ $(comp run experiments/lecture17_mnist_s) == "experiments/lecture17_mnist_stacked.yaml" ]] && ok ||
    bad "files: $(comp run experiments/lecture17_mnist_s)"
[[ $(comp diff tes) == "tests/" ]] && ok || bad "directories: $(comp diff tes)"

expect 0 "${mk[@]}" uninstall DESTDIR="$D" PREFIX="$P"
left=$(find "$D" -type f)
[[ -z $left ]] && ok || bad "left after uninstall: $left"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
