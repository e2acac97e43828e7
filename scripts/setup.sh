#!/usr/bin/env bash
# Install what building and testing need, each only when missing, so it is quick to run again:
# Debian's chromium, chromium-driver, binaryen (wasm-opt) and mesa-vulkan-drivers (lavapipe),
# the wasm32 target, the wasm-bindgen CLI (the version in Cargo.lock) and trunk — pinned so
# that neither downloads tools of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
TRUNK=0.21.14
# cargo install puts tools in $CARGO_INSTALL_ROOT/bin when it is set, else in $CARGO_HOME/bin.
export PATH="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin:$PATH"

# The two tools build from source in release mode; trunk's own profile asks for fat LTO and one
# codegen unit, which makes its cold build several minutes longer on 2 cores. Neither tool's
# speed matters here (both hand the heavy work to rustc and wasm-opt).
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v wasm-opt >/dev/null || missing+=(binaryen)
# lavapipe, the Vulkan adapter the training checks on wgpu run on where there is no GPU.
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# `--locked` fails for wasm-bindgen-cli (a locked dependency is missing from the registry).
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$WASM_BINDGEN" ]; then
  echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN"
  cargo install --quiet wasm-bindgen-cli --version "=$WASM_BINDGEN"
fi
if [ "$(trunk --version 2>/dev/null | cut -d' ' -f2)" != "$TRUNK" ]; then
  echo "setup: installing trunk $TRUNK"
  cargo install --quiet --locked trunk --version "=$TRUNK"
fi
