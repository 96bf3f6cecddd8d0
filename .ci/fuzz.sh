#!/usr/bin/env bash
# Fuzzes the wire protocol's decoders: runs each cargo-fuzz target of wire/fuzz for
# SECONDS (default 60), one after the other, and exits non-zero if any of them crashed.
# Not part of .ci/test (too slow for CI): for maintainers, and for long runs such as
# `.ci/fuzz.sh 600`. See wire/fuzz/README.md.
#
# Usage: .ci/fuzz.sh [SECONDS [TARGET...]]   (targets: `cargo fuzz list --fuzz-dir wire/fuzz`)
# Environment:
#   KEFU_FUZZ_DIR        build and corpus directory, outside the clone
#                        (default $HOME/.cache/kefu-fuzz-target)
#   KEFU_FUZZ_SANITIZER  address (default) or none (about twice as fast, finds less)
#
# The corpus each run grows is kept in $KEFU_FUZZ_DIR/corpus/<target> (the committed
# seeds in wire/fuzz/corpus/<target> are only read), so later runs start where earlier
# ones stopped. A crashing input is written to wire/fuzz/artifacts/<target>/ (ignored by
# git); cargo-fuzz prints how to replay and minimise it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS [TARGET...]]" >&2
    exit 2
fi
shift || true
dir="${KEFU_FUZZ_DIR:-$HOME/.cache/kefu-fuzz-target}"
sanitizer="${KEFU_FUZZ_SANITIZER:-address}"

command -v c++ >/dev/null 2>&1 || {
    echo "a C++ compiler is needed to build libFuzzer: install g++ (or run .ci/deps)" >&2
    exit 1
}
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install --locked --version '^0.13' cargo-fuzz
fi

# cargo-fuzz builds with -Zsanitizer, a nightly flag; this lets the stable toolchain
# accept it (wire/fuzz/README.md says why that is acceptable here).
export RUSTC_BOOTSTRAP=1
mkdir -p "$dir"
# Cargo caches rustc's answers in the target dir without regard to RUSTC_BOOTSTRAP, so
# one build without it poisons every later one ("the option `Z` is only accepted on the
# nightly compiler"). The cache is cheap to rebuild.
rm -f "$dir/.rustc_info.json"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir wire/fuzz)
fi

build=(--fuzz-dir wire/fuzz --release --debug-assertions --sanitizer "$sanitizer" --target-dir "$dir")
failed=()
for target in "${targets[@]}"; do
    corpus="$dir/corpus/$target"
    mkdir -p "$corpus"
    echo "==> building $target" >&2
    cargo fuzz build "${build[@]}" "$target"
    echo "==> fuzzing $target for ${seconds}s (corpus $corpus)" >&2
    # libFuzzer calls the target on the main thread: a 256 KiB stack (CHECK_STACK_KIB in
    # wire/fuzz/src/lib.rs) turns decoding whose stack use grows with its input into a
    # crash. Set only now: the compilers of the build above need their usual stack.
    if ! (ulimit -s 256 && cargo fuzz run "${build[@]}" \
        "$target" "$corpus" "wire/fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1); then
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "==> crashed: ${failed[*]} (inputs in wire/fuzz/artifacts/)" >&2
    exit 1
fi
echo "==> no crash in ${targets[*]}" >&2
