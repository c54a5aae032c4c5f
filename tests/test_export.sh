#!/usr/bin/env bash
# tests/test_export.sh — `aelab export` and `aelab encode` read back by NumPy (Debian's
# python3-numpy, a test dependency of `make deps`): every array's name, shape and dtype; the
# weights and biases bit for bit against the checkpoint file, parsed here in Python from the
# layout engine/checkpoint.c documents; the ZIP's CRCs (Python's zipfile); and the codes of
# `encode` against the encoder's forward pass computed in NumPy from the exported arrays alone
# (max abs difference < 1e-5). Then the errors.
set -u
cd "$(dirname "$0")/.."
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then echo "skip: $AELAB not built"; exit 77; fi
if ! python_with numpy; then
    echo "skip: no python3 with numpy (Debian: apt-get install python3-numpy, or make deps)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export AELAB_CACHE=$tmp/cache
cat >"$tmp/e.yaml" <<'YAML'
name: export-test
seed: 5
pipeline:
  - load_dataset: {name: mnist, batch_size: 50, subset: 300, test_subset: 120}
  - pretrain_layer: {units: 24, activation: sigmoid, optimizer: {name: sgd, lr: 0.5}, epochs: 2}
  - append_layer: {units: 6, activation: relu, decoder_activation: tanh, optimizer: {name: sgd, lr: 0.5}, epochs: 1}
  - strip_decoder
  - attach_classifier: {classes: 10, hidden: [5], loss: nll, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
  - evaluate
YAML
skip_without_mnist "$tmp/e.yaml"
R=$tmp/run
expect 0 "$AELAB" run "$tmp/e.yaml" --out "$R" -q --no-plots --threads 1
expect 0 "$AELAB" export "$R" -o "$tmp/last.npz"
expect 0 "$AELAB" export "$R" --stage append_layer -o "$tmp/ae.npz"
expect 0 "$AELAB" export "$R" --stage 1 -o "$tmp/first.npz"
expect 0 "$AELAB" encode "$R" -o "$tmp/codes.npy"
expect 0 "$AELAB" encode "$R" --split test -o "$tmp/codes.csv"
expect 0 "$AELAB" encode "$R" --split train --stage 02_append_layer -o "$tmp/train.npy"

data=${AELAB_DATA:-data}
cat >"$tmp/check.py" <<'PY'
import gzip, os, struct, sys, zipfile
import numpy as np

tmp, run, data = sys.argv[1:4]
ACTS = ["identity", "tanh", "sigmoid", "relu", "logsoftmax"]
fails = 0
def check(cond, what):
    global fails
    if not cond:
        fails += 1
        print("FAIL:", what)

def read_ckpt(path):
    """The layers of an aelab checkpoint, from the layout in engine/checkpoint.c."""
    b = open(path, "rb").read()
    assert b[:8] == b"AELABCKP", path
    hlen, = struct.unpack_from("<I", b, 12)
    size, D, nenc, ndec, nhead = struct.unpack_from("<QIIII", b, 16)
    off, shapes = 16 + 8 + 16, []
    for _ in range(nenc + ndec + nhead):
        shapes.append(struct.unpack_from("<III", b, off)); off += 12
    p, layers = 16 + hlen, []
    for I, O, act in shapes:
        W = np.frombuffer(b, "<f4", O * I, p).reshape(O, I); p += 4 * O * I
        bias = np.frombuffer(b, "<f4", O, p); p += 4 * O
        layers.append((W, bias, ACTS[act]))
    stacks = {"encoder": layers[:nenc], "decoder": layers[nenc:nenc + ndec],
              "head": layers[nenc + ndec:]}
    return D, stacks

def same_as_ckpt(npz, ckpt, stage):
    z = np.load(npz)  # allow_pickle stays False: plain arrays only
    D, stacks = read_ckpt(ckpt)
    want = {"input_dim", "stage", "config"}
    for s, ls in stacks.items():
        for k, (W, bias, act) in enumerate(ls):
            want |= {f"{s}.{k}.weight", f"{s}.{k}.bias", f"{s}.{k}.activation"}
            w, bb = z[f"{s}.{k}.weight"], z[f"{s}.{k}.bias"]
            check(w.dtype == np.float32 and w.shape == W.shape, f"{npz} {s}.{k}.weight {w.dtype} {w.shape}")
            check(bb.dtype == np.float32 and bb.shape == bias.shape, f"{npz} {s}.{k}.bias {bb.shape}")
            check(np.array_equal(w, W) and np.array_equal(bb, bias), f"{npz} {s}.{k} values")
            check(str(z[f"{s}.{k}.activation"]) == act, f"{npz} {s}.{k}.activation")
    got = {n for n in z.files if not n.startswith("metrics.")}
    check(got == want, f"{npz} names {sorted(got ^ want)}")
    check(int(z["input_dim"]) == D == 784 and z["input_dim"].dtype == np.int64, "input_dim")
    check(str(z["stage"]) == stage, f"stage {z['stage']}")
    check(str(z["config"]) == open(os.path.join(run, "config.yaml")).read(), "config text")
    with zipfile.ZipFile(npz) as zf:
        check(zf.testzip() is None, f"{npz} CRC")
        check(all(i.compress_type in (0, 8) for i in zf.infolist()), f"{npz} methods")
    return z, stacks

ck = os.path.join(run, "checkpoints")
z, st = same_as_ckpt(os.path.join(tmp, "last.npz"), os.path.join(ck, "04_attach_classifier.ckpt"), "04_attach_classifier")
check([len(st[s]) for s in ("encoder", "decoder", "head")] == [2, 0, 2], "last: stacks")
check(z["encoder.0.weight"].shape == (24, 784) and z["encoder.1.weight"].shape == (6, 24)
      and z["head.0.weight"].shape == (5, 6) and z["head.1.weight"].shape == (10, 5), "last: shapes")
check([str(z[f"head.{k}.activation"]) for k in (0, 1)] == ["tanh", "logsoftmax"], "head acts")
# the per-epoch metrics: one row per epoch, as metrics.csv
m = [l.rstrip("\n").split(",") for l in open(os.path.join(run, "metrics.csv"))]
check(z["metrics.epoch"].dtype == np.float64 and list(z["metrics.epoch"]) == [1, 2, 1, 1], "metrics.epoch")
check(list(z["metrics.stage"]) == [r[1] for r in m[1:]], "metrics.stage")
check(np.array_equal(z["metrics.loss"], np.array([float(r[4]) for r in m[1:]])), "metrics.loss")
check(np.isnan(z["metrics.test_accuracy"][0]) and z["metrics.test_accuracy"][3] > 0, "metrics NaN")
ae, st = same_as_ckpt(os.path.join(tmp, "ae.npz"), os.path.join(ck, "02_append_layer.ckpt"), "02_append_layer")
check(ae["decoder.0.weight"].shape == (24, 6) and ae["decoder.1.weight"].shape == (784, 24), "ae: decoder")
check(str(ae["decoder.0.activation"]) == "tanh" and str(ae["decoder.1.activation"]) == "sigmoid", "ae: dec acts")
same_as_ckpt(os.path.join(tmp, "first.npz"), os.path.join(ck, "01_pretrain_layer.ckpt"), "01_pretrain_layer")

def idx(name):
    for p in (os.path.join(data, "mnist", name), os.path.join(data, "mnist", name + ".gz")):
        if os.path.exists(p):
            b = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
            nd = b[3]
            dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
            return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)
    raise SystemExit("no " + name)

ACT = {"tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0),
       "identity": lambda x: x}
def forward(z, X):
    h = X.astype(np.float64)
    k = 0
    while f"encoder.{k}.weight" in z.files:
        h = ACT[str(z[f"encoder.{k}.activation"])](h @ z[f"encoder.{k}.weight"].T.astype(np.float64)
                                                  + z[f"encoder.{k}.bias"])
        k += 1
    return h

for split, images, n, zz, f in (("test", "t10k-images-idx3-ubyte", 120, z, "codes.npy"),
                                ("train", "train-images-idx3-ubyte", 300, ae, "train.npy")):
    X = idx(images)[:n].reshape(n, -1).astype(np.float32) / np.float32(255)
    codes = np.load(os.path.join(tmp, f))
    check(codes.dtype == np.float32 and codes.shape == (n, 6), f"{f}: {codes.dtype} {codes.shape}")
    diff = np.abs(codes - forward(zz, X)).max()
    check(diff < 1e-5, f"{f}: max abs diff {diff}")
    print(f"{split}: codes {codes.shape} {codes.dtype}, max |aelab - numpy| = {diff:.3g}")
rows = [l.rstrip("\n").split(",") for l in open(os.path.join(tmp, "codes.csv"))]
check(rows[0] == ["label"] + [f"code_{j}" for j in range(6)], "codes.csv header")
labels = idx("t10k-labels-idx1-ubyte")[:120]
check([int(r[0]) for r in rows[1:]] == list(labels), "codes.csv labels")
csv = np.array([[float(v) for v in r[1:]] for r in rows[1:]], dtype=np.float32)
check(np.array_equal(csv, np.load(os.path.join(tmp, "codes.npy"))), "codes.csv == codes.npy")
print(f"numpy {np.__version__}: {fails} failures")
sys.exit(1 if fails else 0)
PY
if out=$("$PY" "$tmp/check.py" "$tmp" "$R" "$data" 2>&1); then ok; else bad "numpy check: $out"; fi
echo "$out"

# A .npy of known values, byte for byte: header padded to 64 bytes, data little-endian.
"$PY" - "$tmp/codes.npy" <<'PY' || bad "the .npy header"
import sys
b = open(sys.argv[1], "rb").read()
hl = int.from_bytes(b[8:10], "little")
assert b[:8] == b"\x93NUMPY\x01\x00" and (10 + hl) % 64 == 0, b[:10]
assert b[10:10 + hl].rstrip(b" \n") == b"{'descr': '<f4', 'fortran_order': False, 'shape': (120, 6), }", b[10:10 + hl]
assert len(b) == 10 + hl + 120 * 6 * 4
PY

# errors
expect 2 "$AELAB" export "$R"
contains "aelab export: error: missing -o FILE"
expect 2 "$AELAB" export "$R" --stage nosuch -o "$tmp/x.npz"
contains "$R: error: no checkpoint of stage 'nosuch'; there are: 01_pretrain_layer 02_append_layer 04_attach_classifier"
expect 2 "$AELAB" export "$tmp" -o "$tmp/x.npz"
contains "$tmp: error: not a run directory with checkpoints (no $tmp/checkpoints)"
expect 2 "$AELAB" export "$R" --split test -o "$tmp/x.npz"
contains "aelab export: error: unknown option '--split'"
expect 2 "$AELAB" encode "$R" -o "$tmp/codes.txt"
contains "aelab encode: error: -o: expected a FILE.npy or FILE.csv, got '$tmp/codes.txt'"
expect 2 "$AELAB" encode "$R" --split valid -o "$tmp/c.npy"
contains "aelab encode: error: --split: expected test or train, got 'valid'"
expect 1 "$AELAB" export "$R" -o "$tmp/nodir/x.npz"
contains "$tmp/nodir/x.npz"
[[ ! -e $tmp/x.npz ]] && ok || bad "a refused export left a file"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
