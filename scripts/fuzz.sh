#!/usr/bin/env bash
# Fuzz what the product reads from outside (the crate in fuzz/):
#   scripts/fuzz.sh [front_end|decoder|sidecar] [seconds]      (default: front_end for 1800 s)
# front_end: any bytes through decode → resample → MFCC → network with the shipped weights,
# whole and streamed; decoder: the same bytes through decoding and preparation alone (no
# network, thousands of inputs a second), whole and streamed;
# sidecar: any weights sidecar beside the shipped record. Needs the nightly toolchain
# (`rustup toolchain install nightly`); installs cargo-fuzz when missing. Crashes go to
# fuzz/artifacts/TARGET/, the corpus grows in fuzz/corpus/TARGET (both ignored by git) from the
# committed seeds in fuzz/seeds/TARGET (made by fuzz/make_seeds.py).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-front_end}
seconds=${2:-1800}
CARGO_FUZZ=0.13.2
# cargo install puts tools in $CARGO_INSTALL_ROOT/bin when it is set, else in $CARGO_HOME/bin.
export PATH="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin:$PATH"
if [ "$(cargo fuzz --version 2>/dev/null | cut -d' ' -f2)" != "$CARGO_FUZZ" ]; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ"
  cargo install --quiet --locked cargo-fuzz --version "=$CARGO_FUZZ"
fi
mkdir -p "fuzz/corpus/$target"
# The decoder target starts from the audio seeds too.
seeds="fuzz/seeds/$target"
[ "$target" = decoder ] && seeds=fuzz/seeds/front_end
# 64 KiB inputs reach every container's interesting parts; 30 s for one input is a hang; the
# memory limit is the analysis's own bound (docs/reliability.md) with room for the sanitizer.
exec cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "$seeds" -- \
  -max_total_time="$seconds" -max_len=65536 -timeout=30 -rss_limit_mb=2048 -print_final_stats=1
