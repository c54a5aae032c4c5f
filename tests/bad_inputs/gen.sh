# shellcheck shell=bash
# tests/bad_inputs/gen.sh — shell functions that write the data files of the bad-input catalogue
# (tests/test_bad_inputs.sh sources this file). Everything is deterministic: same bytes on every
# run, so that messages quoting offsets, counts and zlib's verdicts stay exact.
#
# IDX layout (runner/data.c): 00 00 08 RANK, RANK big-endian u32 dimensions, then the bytes.

# be32 N: N as 4 big-endian bytes on stdout
be32() {
    printf "\\x$(printf %02x $((($1 >> 24) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))"
    printf "\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $(($1 & 255)))"
}

# pixels K: K deterministic, varied bytes on stdout (a repeating 16-byte pattern)
pixels() {
    yes $'\x12\x34\x56\x78\x9a\xbc\xde\xf0\x11\x99\x77\x55\x33\xee\xcc' | head -c "$1"
}

# labels_bytes K: K labels 0,1,...,9,0,1,... on stdout
labels_bytes() {
    local i
    for ((i = 0; i < ($1 + 9) / 10; i++)); do printf '\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09'; done |
        head -c "$1"
}

# idx_images FILE N ROWS COLS: a valid idx3 images file
idx_images() {
    { printf '\x00\x00\x08\x03'; be32 "$2"; be32 "$3"; be32 "$4"; pixels $(($2 * $3 * $4)); } >"$1"
}

# idx_labels FILE N: a valid idx1 labels file (labels i % 10)
idx_labels() {
    { printf '\x00\x00\x08\x01'; be32 "$2"; labels_bytes "$2"; } >"$1"
}

# idx_header FILE MAGIC_HEX DIM...: a header only (4-byte magic given as 8 hex digits)
idx_header() {
    local f=$1 m=$2
    shift 2
    { printf "\\x${m:0:2}\\x${m:2:2}\\x${m:4:2}\\x${m:6:2}"; for d in "$@"; do be32 "$d"; done; } >"$f"
}

# poke FILE OFFSET BYTES...: overwrite bytes (given as two hex digits each) at OFFSET
poke() {
    local f=$1 off=$2
    shift 2
    local s=""
    for b in "$@"; do s+="\\x$b"; done
    printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# gz SRC DST: gzip without a name or time stamp (same bytes every time)
gz() { gzip -n -c "$1" >"$2"; }

# idx_config FILE NAME IMAGES LABELS [TEST_IMAGES TEST_LABELS [KEYS]]: a tiny run on IDX files;
# KEYS ("subset: 20, ") go into load_dataset before batch_size
idx_config() {
    cat >"$1" <<EOF
name: $2
seed: 1
pipeline:
  - load_dataset: {name: idx, train_images: $3, train_labels: $4${5:+, test_images: $5, test_labels: $6}, ${7:-}batch_size: 10}
  - pretrain_layer: {units: 4, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
EOF
}

# csv_config FILE NAME TRAIN_CSV [TEST_CSV [LABEL_COLUMN [KEYS]]]: a tiny run on CSV files;
# KEYS ("pixels: unit, ") go into load_dataset before batch_size
csv_config() {
    cat >"$1" <<EOF
name: $2
seed: 1
pipeline:
  - load_dataset: {name: csv, train_csv: $3${4:+, test_csv: $4}${5:+, label_column: $5}, ${6:-}batch_size: 2}
  - pretrain_layer: {units: 2, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
EOF
}
