#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) on the nightly toolchain; fails on any crash.
# Longer runs: scripts/fuzz.sh 1800 (see docs/wire.md). Found inputs land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

for target in wire_decode wire_roundtrip profile_parse; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus"
    seeds=()
    if [ -d "fuzz/seeds/$target" ]; then
        seeds=("fuzz/seeds/$target")
    fi
    echo "== fuzz $target for ${secs}s"
    log=$(mktemp)
    status=0
    cargo +nightly fuzz run "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE +cov" "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log" >&2
        echo "fuzz target $target failed (status $status); the input is in fuzz/artifacts/$target/" >&2
        rm -f "$log"
        exit "$status"
    fi
    rm -f "$log"
done
