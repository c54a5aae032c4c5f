#!/usr/bin/env bash
# tests/test_plot_safety.sh — `aelab plot` on run directories a user did not write, and plotting
# when writes fail:
#  - planted scripts (RUN/loss.gp, RUN/extra.gp, a template in RUN/plots/, RUN/weights/X.gp,
#    RUN/.gnuplot) are never run (their marker file never appears; a control shows that gnuplot
#    itself would run them); the pictures are drawn again from the data;
#  - stage names, class labels, titles, picture and directory names with backquotes, quotes,
#    @macros, system(...), "|command", "<command" and newlines run nothing and still render;
#  - not a run (missing, a file, empty, config.yaml only) exits 2 with a specific message; a run
#    with only some CSVs draws what it can and names what it skipped; no gnuplot exits 1;
#  - failed writes: file size limit (ulimit -f, SIGXFSZ ignored so writes fail with EFBIG) on
#    the scripts and on the PNGs, a full tmpfs (when mount works), gnuplot failing or writing no
#    PNG, for `aelab plot` (exit 1) and `aelab run` (exit 1, what was written kept).
# Needs gnuplot for most cases (skips with a message without it) and data/mnist for the runs.
set -u
cd "$(dirname "$0")/.."
AELAB=$(realpath "${AELAB:-bin/aelab}")
source tests/assert.sh

if ! command -v gnuplot >/dev/null; then
    echo "test_plot_safety: skipped: gnuplot not found on PATH (apt-get install gnuplot-nox)"
    exit 77
fi
tmp=$(mktemp -d /tmp/aelab-plot-safety-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
M=$tmp/MARK # every planted command would create $M.<something>

# A whole PNG: the signature first, the IEND chunk last.
png_ok() {
    [[ -s $1 ]] && [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] &&
        [[ $(tail -c 12 "$1" | od -An -tx1 | tr -d ' \n') == 0000000049454e44ae426082 ]]
}
check_png() { if png_ok "$1"; then ok; else bad "not a complete PNG: $1"; fi; }
no_marks() {
    local m
    m=$(ls "$M".* 2>/dev/null)
    if [[ -z $m ]]; then ok; else bad "$1: a planted command ran: $m"; rm -f "$M".*; fi
}
no_temps() {
    local t
    t=$(find "$1" -name '*.tmp*')
    if [[ -z $t ]]; then ok; else bad "temp files left: $t"; fi
}

# ---- a real run to start from (tiny: 2 hidden units) ----
cat >"$tmp/tiny.yaml" <<'YAML'
name: tiny
seed: 3
pipeline:
  - load_dataset: {name: mnist, subset: 500, test_subset: 100, batch_size: 100}
  - add_noise: {kind: gaussian, mean: 0.1, std: 0.2}
  - pretrain_layer: {units: 2, activation: tanh, decoder_activation: sigmoid, loss: mse,
                     optimizer: {name: sgd, lr: 0.98}, epochs: 1}
  - strip_decoder
  - attach_classifier: {classes: 10, loss: nll, optimizer: {name: sgd, lr: 0.1}, epochs: 2}
  - evaluate: {split: test}
YAML
expect 0 "$AELAB" run "$tmp/tiny.yaml" --out "$tmp/run" --threads 2 --no-cache -q
npng=$(find "$tmp/run" -name '*.png' | wc -l)
if [[ $npng -eq 12 ]]; then ok; else bad "the run drew $npng PNGs, expected 12"; fi
ls "$tmp/run/weights/"*.meta.csv >/dev/null 2>&1 && ok || bad "no .meta.csv beside the weight pictures"
enc=02_pretrain_layer_encoder_after # one of its pictures
cp -r "$tmp/run" "$tmp/pristine"

# ---- 1. planted scripts are never run ----
mkdir "$tmp/planted"; cp -r "$tmp/pristine" "$tmp/planted/run" # named "run": the same titles
P=$tmp/planted/run
echo "system('touch $M.loss')" >"$P/loss.gp"
echo "system('touch $M.extra')" >"$P/extra.gp"
printf '# aelab template\nsystem("touch %s.tmpl")\n' "$M" >"$P/plots/loss.gp"
printf '# aelab template\nsystem("touch %s.tiles")\n' "$M" >"$P/plots/tiles.gp"
echo "system('touch $M.mosaic')" >"$P/weights/$enc.gp"
echo "system('touch $M.orphan')" >"$P/weights/orphan.gp"
echo "system('touch $M.rc')" >"$P/.gnuplot"
rm "$P"/*.png "$P"/weights/*.png
expect 0 "$AELAB" plot "$P";        contains "rendered 12 plots"
no_marks "planted scripts"
for f in loss.png accuracy.png confusion.png per_class.png "weights/$enc.png" recon/02_pretrain_layer_trained.png; do
    check_png "$P/$f"
done
for f in loss.gp "weights/$enc.gp" plots/loss.gp plots/tiles.gp; do # regenerated, as the run wrote them
    if cmp -s "$P/$f" "$tmp/pristine/$f"; then ok; else bad "$f was not written again as aelab writes it"; fi
done
grep -qF "touch $M.extra" "$P/extra.gp" && ok || bad "extra.gp (not aelab's) was changed"
# control: the marker mechanism works, gnuplot itself runs a planted script
(cd "$P" && gnuplot extra.gp 2>/dev/null)
if [[ -e $M.extra ]]; then ok; rm -f "$M".*; else bad "control: gnuplot extra.gp did not create the marker"; fi
no_temps "$P"

# ---- 2. text from CSVs and file names cannot inject gnuplot commands ----
I="$tmp/it's \`touch $(basename "$M").dir\` \$(date) @x"  # a directory name with ' ` $( @
mkdir "$I"
cp "$tmp/pristine/config.yaml" "$I/"
cat >"$I/metrics.csv" <<EOF
stage_index,stage,kind,epoch,loss,penalty,test_accuracy
1,"a'; system('touch $M.q1'); b='",pretrain_layer,1,0.5,0.1,
1,"a'; system('touch $M.q1'); b='",pretrain_layer,2,0.3,0.1,
2,"\`touch $M.bq\` ""x"" @y \\",attach_classifier,1,1.2,,71.5
2,"\`touch $M.bq\` ""x"" @y \\",attach_classifier,2,0.9,,80.25
3,"line1
system(""touch $M.nl"")",append_layer,1,0.2,,
EOF
printf 'true,pred_0,pred_1\n"c`touch %s.cl`",5,1\n"d'"'"'); system(""touch %s.c2"")",2,7\n' "$M" "$M" >"$I/confusion.csv"
printf 'class,correct,total,accuracy\n"`touch %s.pc`",5,6,83.3\n"|touch %s.pc2",7,9,77.8\n' "$M" "$M" >"$I/per_class.csv"
mkdir "$I/weights" "$I/recon"
for base in "q'\`touch $(basename "$M").wb\`" "|touch $(basename "$M").pipe" "<touch $(basename "$M").lt" "-e system('x')"; do
    cp "$tmp/pristine/weights/$enc.f32" "$I/weights/$base.f32"
    printf 'title,ntiles,tile_h,tile_w,grid_cols,per_tile\n"t'"'"'`touch %s.title`\nnext line",2,28,28,2,0\n' "$M" >"$I/weights/$base.meta.csv"
done
expect 0 "$AELAB" plot "$I";        contains "rendered 8 plots"
no_marks "stage names, labels, titles and file names"
if [[ -z $(find "$I" "$I/weights" -maxdepth 1 -name 'MARK*') ]]; then ok; else bad "a relative marker appeared: $(find "$I" -name 'MARK*')"; fi
for f in loss.png accuracy.png confusion.png per_class.png "weights/|touch MARK.pipe.png" "weights/-e system('x').png"; do
    check_png "$I/$f"
done
# the newline in a stage name does not end its string: the label line is one line
if grep "^array stage_label\[3\] = " "$I/loss.gp" | grep -qF "'line1 system(\"touch $M.nl\")']"; then ok; else
    bad "loss.gp: the stage name with a newline is not one quoted string: $(grep -n stage_label "$I/loss.gp")"; fi
grep -qF "plot_title = 'it''s" "$I/loss.gp" && ok || bad "loss.gp: the run's name is not quoted: $(grep plot_title "$I/loss.gp")"

# ---- 3. not a run directory: exit 2 with a specific message ----
mkdir "$tmp/empty"
expect 2 "$AELAB" plot "$tmp/empty";             contains "empty: error: not a run directory: it has neither config.yaml nor metrics.csv"
lacks "rendered"
expect 2 "$AELAB" plot "$tmp/tiny.yaml";         contains "tiny.yaml: error: not a directory"
expect 2 "$AELAB" plot "$tmp/no_such_run";       contains "no_such_run: error: No such file or directory"
mkdir "$tmp/cfgonly"; cp "$tmp/pristine/config.yaml" "$tmp/cfgonly/"
expect 2 "$AELAB" plot "$tmp/cfgonly";           contains "cfgonly: error: nothing to plot"
contains "skipped $tmp/cfgonly/loss.png: no metrics.csv"
expect 2 "$AELAB" plot;                          contains "expected one run directory"
expect 0 "$AELAB" plot --help;                   contains "No script found in RUN_DIR is run"
contains "2: RUN_DIR is missing"
# a run with only some of its data: draws what it can, names what it skipped
mkdir "$tmp/some"; cp "$tmp/pristine/metrics.csv" "$tmp/some/"
expect 0 "$AELAB" plot "$tmp/some/";             contains "rendered 2 plots in $tmp/some/ (2 skipped"
contains "skipped $tmp/some/confusion.png: no confusion.csv"
contains "skipped $tmp/some/per_class.png: no per_class.csv"
check_png "$tmp/some/loss.png"; check_png "$tmp/some/accuracy.png"
# pictures of an older aelab (no .meta.csv): skipped with the reason, their scripts not run
cp -r "$tmp/pristine" "$tmp/old"; rm "$tmp/old/weights/"*.meta.csv
echo "system('touch $M.old')" >"$tmp/old/weights/$enc.gp"
expect 0 "$AELAB" plot "$tmp/old";               contains "(6 skipped"
contains "skipped $tmp/old/weights/$enc.png: no $enc.meta.csv beside $enc.f32"
no_marks "an older run's script"
# a malformed CSV: exit 1 naming the file and line, the other pictures still drawn
cp -r "$tmp/pristine" "$tmp/bad"; echo '9,x,pretrain_layer,one,0.1,,,,,,,' >>"$tmp/bad/metrics.csv"
expect 1 "$AELAB" plot "$tmp/bad";               contains "bad/metrics.csv:5: error: column 'epoch': expected a number, got 'one'"
contains "2 of 12 pictures failed"
check_png "$tmp/bad/confusion.png"
# a mosaic whose data does not match its .meta.csv
cp -r "$tmp/pristine" "$tmp/short"; head -c 100 "$tmp/pristine/weights/$enc.f32" >"$tmp/short/weights/$enc.f32"
expect 1 "$AELAB" plot "$tmp/short";             contains "weights/$enc.f32: error: 100 bytes, expected"
# no gnuplot: the scripts are written, exit 1
cp -r "$tmp/pristine" "$tmp/nogp"; rm "$tmp/nogp/loss.gp"
AELAB_GNUPLOT= expect 1 "$AELAB" plot "$tmp/nogp"; contains "gnuplot not found (\$AELAB_GNUPLOT): wrote 12 plot scripts, rendered no PNG"
[[ -s $tmp/nogp/loss.gp ]] && ok || bad "without gnuplot, loss.gp was not written"

# ---- 4. failed writes ----
# file size limit 0: every script write fails with EFBIG, each named
cp -r "$tmp/pristine" "$tmp/fsz0"
expect 1 bash -c "ulimit -f 0; trap '' XFSZ; exec \"\$0\" plot \"\$1\"" "$AELAB" "$tmp/fsz0"
contains "fsz0/loss.gp: error: write failed: File too large"
contains "fsz0/weights/$enc.gp: error: write failed: File too large"
contains "12 of 12 pictures failed"
no_temps "$tmp/fsz0"
cmp -s "$tmp/fsz0/loss.gp" "$tmp/pristine/loss.gp" && ok || bad "a failed write changed loss.gp"
# 8 KiB: the scripts fit, the PNGs do not (gnuplot exits 0 with a truncated PNG)
cp -r "$tmp/pristine" "$tmp/fsz8"
expect 1 bash -c "ulimit -f 8; trap '' XFSZ; exec \"\$0\" plot \"\$1\"" "$AELAB" "$tmp/fsz8"
contains "fsz8/loss.png: error: gnuplot wrote an incomplete PNG"
contains "fsz8/recon/02_pretrain_layer_trained.png: error: gnuplot wrote an incomplete PNG"
no_temps "$tmp/fsz8"
check_png "$tmp/fsz8/loss.png" # the previous picture stays in place, whole
# a full file system (a 96 KiB tmpfs in a private mount namespace), when mount works here
if unshare -m true 2>/dev/null && unshare -m sh -c "mount -t tmpfs -o size=96k tmpfs '$tmp/empty'" 2>/dev/null; then
    out=$(unshare -m sh -c '
        mount -t tmpfs -o size=96k tmpfs "$1" || exit 99
        mkdir "$1/r"; cp "$2/config.yaml" "$2/metrics.csv" "$2/confusion.csv" "$2/per_class.csv" "$1/r/"
        "$3" plot "$1/r"; rc=$?
        left=$(find "$1/r" -name "*.tmp*"); echo "rc=$rc temps=[$left]"
        for f in "$1"/r/*.png; do [ -e "$f" ] && tail -c 8 "$f" | od -An -tx1 | tr -d " \n" && echo " $f"; done
    ' sh "$tmp/empty" "$tmp/pristine" "$AELAB" 2>&1)
    if grep -q "rc=1 temps=\[\]" <<<"$out"; then ok; else bad "full tmpfs: expected exit 1, no temp files: $out"; fi
    if grep -q "r/[a-z_]*\.\(gp\|png\): error: .*\(No space left on device\|incomplete PNG\)" <<<"$out"
    then ok; else bad "full tmpfs: no error naming a file: $out"; fi
    if ! grep " .*\.png$" <<<"$out" | grep -qv "^49454e44ae426082 "; then ok
    else bad "full tmpfs: an incomplete PNG was kept: $out"; fi
else
    echo "test_plot_safety: note: skipped the full-tmpfs case (cannot mount a tmpfs in a private namespace here)"
fi
# gnuplot that fails, and gnuplot that exits 0 without a PNG (stand-ins on AELAB_GNUPLOT)
printf '#!/bin/sh\necho "line 1: something broke" >&2\nexit 3\n' >"$tmp/gp_fail"
printf '#!/bin/sh\nexit 0\n' >"$tmp/gp_nopng"
cat >"$tmp/gp_trunc" <<'SH'
#!/bin/sh
# called as: gp_trunc -e "out_png='./NAME'" ./SCRIPT.gp; writes the first 12 bytes of a PNG
out=${2#out_png=\'}; out=${out%\'}
printf '\211PNG\r\n\032\nIHDR' >"$out"
SH
chmod +x "$tmp/gp_fail" "$tmp/gp_nopng" "$tmp/gp_trunc"
cp -r "$tmp/pristine" "$tmp/gpx"
AELAB_GNUPLOT=$tmp/gp_fail expect 1 "$AELAB" plot "$tmp/gpx"
contains "gpx/loss.gp: error: gnuplot exited with status 3: line 1: something broke"
AELAB_GNUPLOT=$tmp/gp_nopng expect 1 "$AELAB" plot "$tmp/gpx"
contains "gpx/per_class.png: error: gnuplot succeeded but wrote no picture"
AELAB_GNUPLOT=$tmp/gp_trunc expect 1 "$AELAB" plot "$tmp/gpx"
contains "gpx/confusion.png: error: gnuplot wrote an incomplete PNG (12 bytes"
no_temps "$tmp/gpx"
# `aelab run`: a failed picture makes the run exit 1, and what was written stays
AELAB_GNUPLOT=$tmp/gp_trunc expect 1 "$AELAB" run "$tmp/tiny.yaml" --out "$tmp/run_gp" --threads 2 --no-cache -q
contains "run_gp/weights/$enc.png: error: gnuplot wrote an incomplete PNG"
contains "run_gp/loss.png: error: gnuplot wrote an incomplete PNG"
contains "run_gp: error: some pictures could not be drawn"
for f in metrics.csv summary.csv confusion.csv checkpoints/04_attach_classifier.ckpt; do
    [[ -s $tmp/run_gp/$f ]] && ok || bad "the failed-plots run lost $f"
done
expect 1 bash -c "ulimit -f 20; trap '' XFSZ; exec \"\$0\" run \"\$1\" --out \"\$2\" --threads 2 --no-cache -q" \
    "$AELAB" "$tmp/tiny.yaml" "$tmp/run_fsz"
contains "run_fsz/recon/02_pretrain_layer_trained.f32: error: write failed: File too large"
contains "run_fsz: error: some pictures could not be drawn"
cmp -s "$tmp/run_fsz/summary.csv" "$tmp/pristine/summary.csv" && ok || bad "the size-limited run's summary.csv differs"
no_temps "$tmp/run_fsz"
mkdir "$tmp/run_wf"; : >"$tmp/run_wf/weights" # a file where weights/ goes
expect 1 "$AELAB" run "$tmp/tiny.yaml" --out "$tmp/run_wf" --threads 2 --no-cache -q
contains "run_wf/weights: error: cannot create directory: exists and is not a directory"
[[ -s $tmp/run_wf/summary.csv ]] && ok || bad "the run with a file for weights/ lost summary.csv"

echo "test_plot_safety: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
