#!/usr/bin/env bash
# tests/test_schema_json.sh — `aelab keys --format json-schema` checked by a real validator
# (Debian's python3-jsonschema, Draft 2020-12; python3-yaml reads the configs): the schema is a
# valid draft 2020-12 schema; every config in experiments/ and tests/good_configs/ passes it and
# aelab check agrees; a misspelt key, a wrong type, an out-of-range value, a key of another
# optimizer and a key sgd requires each fail it, as they fail `aelab check`. Also the structure
# (every stage kind in $defs, closed mappings, defaults), `--format paths`, and the errors.
set -u
cd "$(dirname "$0")/.."
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then echo "skip: $AELAB not built"; exit 77; fi
if ! python_with jsonschema yaml; then
    echo "skip: no python3 with jsonschema and yaml (Debian: python3-jsonschema python3-yaml, or make deps)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect 0 "$AELAB" keys --format json-schema
printf '%s\n' "$out" >"$tmp/schema.json"

mkbad() { # NAME SED-EXPRESSION: a copy of the lecture 17 config, edited
    sed "$2" experiments/lecture17_mnist_stacked.yaml >"$tmp/bad_$1.yaml"
}
mkbad epoch 's/epochs: 10/epoch: 10/'
mkbad units_type 's/units: 400/units: many/'
mkbad lr_zero 's/lr: 0.98/lr: 0/'
mkbad seed_negative 's/^seed: .*/seed: -1/'
mkbad momentum_adam 's/optimizer: {name: sgd, lr: 0.98}/optimizer: {name: adam, lr: 0.01, momentum: 0.9}/'
mkbad sgd_no_lr 's/optimizer: {name: sgd, lr: 0.98}/optimizer: {name: sgd}/'
mkbad unknown_stage 's/strip_decoder/strip_decoders/'
for f in "$tmp"/bad_*.yaml; do
    grep -q . "$f" && ! cmp -s "$f" experiments/lecture17_mnist_stacked.yaml && ok || bad "$f: the edit did nothing"
done

cat >"$tmp/check.py" <<'PY'
import glob, json, sys
import jsonschema, yaml
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)   # raises on an invalid schema
v = jsonschema.Draft202012Validator(schema)
fails = 0
def check(cond, what):
    global fails
    if not cond:
        fails += 1
        print("FAIL:", what)
check(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", "$schema")
check(schema["type"] == "object" and schema["additionalProperties"] is False, "closed root")
check(set(schema["required"]) == {"name", "pipeline"}, f"required {schema['required']}")
kinds = ["load_dataset", "pretrain_layer", "append_layer", "add_sparsity", "add_noise",
         "strip_decoder", "attach_classifier", "evaluate"]
check(all(k in schema["$defs"] for k in kinds + ["stage", "optimizer"]), f"$defs {sorted(schema['$defs'])}")
check(all(schema["$defs"][k]["additionalProperties"] is False for k in kinds), "closed stages")
pl = schema["$defs"]["pretrain_layer"]["properties"]
check(pl["epochs"]["anyOf"][0] == {"type": "integer", "minimum": 1}, f"epochs {pl['epochs']}")
check(pl["activation"]["enum"] == ["tanh", "sigmoid", "relu", "identity"] and pl["activation"]["default"] == "tanh", "activation")
check(schema["$defs"]["optimizer"]["properties"]["lr"]["anyOf"][0]["exclusiveMinimum"] == 0, "lr > 0")
# numbers as text (PyYAML, a YAML 1.1 reader, takes 1e-3 for a string; aelab reads it as 0.001)
check(v.is_valid({"name": "t", "pipeline": [{"load_dataset": {"name": "mnist", "batch_size": "100"}}]}), "'100'")
check(not v.is_valid({"name": "t", "pipeline": [{"load_dataset": {"name": "mnist", "batch_size": "lots"}}]}), "'lots'")
check(v.is_valid({"name": "t", "pipeline": ["load_dataset", "evaluate", {"strip_decoder": None}]}), "bare stages")
n = 0
for f in sorted(glob.glob("experiments/*.yaml") + glob.glob("tests/good_configs/*.yaml")):
    errs = list(v.iter_errors(yaml.safe_load(open(f))))
    check(not errs, f"{f}: {[e.message for e in errs][:2]}")
    n += 1
bad = sorted(glob.glob(sys.argv[2] + "/bad_*.yaml"))
for f in bad:
    errs = list(v.iter_errors(yaml.safe_load(open(f))))
    check(errs, f"{f} passes the schema")
print(f"jsonschema: {n} good configs valid, {len(bad)} bad ones invalid; {fails} failures")
sys.exit(1 if fails else 0)
PY
if res=$("$PY" "$tmp/check.py" "$tmp/schema.json" "$tmp" 2>&1); then ok; else bad "$res"; fi
echo "$res"
# aelab itself agrees: the experiments load (tests/good_configs/ name data files that need not
# exist), the bad ones do not
for f in experiments/*.yaml; do
    "$AELAB" check "$f" >/dev/null 2>&1
    rc=$?
    [[ $rc -ne 2 ]] && ok || bad "aelab check $f: exit $rc"
done
for f in "$tmp"/bad_*.yaml; do
    expect 2 "$AELAB" check "$f"
done

# --format paths: what --set takes, by kind
expect 0 "$AELAB" keys --format paths
contains "pretrain_layer.optimizer.lr"
contains "add_noise.std"
[[ $(head -n 5 <<<"$out" | tr '\n' ' ') == "name description seed device threads " ]] && ok || bad "paths: $(head -n 5 <<<"$out")"
# every path is accepted by --set (a check of the lecture 17 config with it set to its own value
# is beyond this test; here: the paths name real keys of `aelab keys`)
"$AELAB" keys >"$tmp/keys.md"
while IFS= read -r p; do
    k=${p##*.}
    grep -qF "| \`$k\` |" "$tmp/keys.md" || bad "path $p: no key $k in aelab keys"
done <<<"$out"
ok
# errors: exit 2
expect 2 "$AELAB" keys --format yaml
contains "aelab keys: error: --format: expected markdown, json-schema or paths, got 'yaml'"
expect 2 "$AELAB" keys extra
contains "aelab keys: error: unexpected argument 'extra'"
expect 2 "$AELAB" keys --frob
contains "aelab keys: error: unknown option '--frob'"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
