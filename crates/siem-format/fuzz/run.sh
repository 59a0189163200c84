#!/usr/bin/env bash
# Runs every siem-format fuzz target for SECONDS each (default 20).
#
#   crates/siem-format/fuzz/run.sh 20      # short run, as CI does
#   crates/siem-format/fuzz/run.sh 3600    # long run: an hour per target
#
# cargo-fuzz needs nightly compiler features; on a stable toolchain RUSTC_BOOTSTRAP=1 unlocks
# them. cargo-fuzz is installed from crates.io when missing. Crashes are kept in
# crates/siem-format/fuzz/artifacts/<target>/ and make this script fail.
set -euo pipefail
seconds="${1:-20}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$here/target}"
targets=(json ecs ocsf hec cef leef1 leef2 rfc5424 rfc3164 decode_json)
cargo fuzz build -O
mkdir -p logs
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "fuzz: $t for ${seconds}s"
    if ! cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=4096 \
        -rss_limit_mb=2048 -print_final_stats=1 >"logs/$t.log" 2>&1; then
        tail -n 60 "logs/$t.log" >&2
        echo "fuzz: $t failed; reproducer in $here/artifacts/$t" >&2
        exit 1
    fi
    grep -E "stat::number_of_executed_units" "logs/$t.log" || true
done
echo "fuzz: all targets ran ${seconds}s without failure"
