#!/usr/bin/env bash
# Speed and memory: ours beside the Keras reference and librosa, measured in one run on this
# machine (docs/performance.md). The reference runs in a throwaway virtual environment under
# target/ (tensorflow-cpu, librosa and the rest pinned in tests/fixtures/requirements.txt),
# never in the product.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench
venv=${BENCH_VENV:-target/bench-venv}
mkdir -p "$out"
if [ ! -x "$venv/bin/python" ]; then
  echo "bench: creating $venv (tensorflow-cpu, librosa; a few minutes, once)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r tests/fixtures/requirements.txt
fi
echo "bench: building (dev profile: everything optimised)"
cargo build -q --example speed
echo "bench: the Keras reference and librosa"
"$venv/bin/python" scripts/keras_bench.py > "$out/keras.json"
echo "bench: ours"
nproc | sed 's/^/cores: /'
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
"$target_dir/debug/examples/speed" --keras "$out/keras.json" | tee "$out/speed.txt"
