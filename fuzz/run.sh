#!/usr/bin/env bash
# Runs every fuzz target for N seconds (default 60) with cargo-fuzz, installing it when missing.
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets stable accept them.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for t in $(cargo fuzz list); do
  mkdir -p "corpus/$t"
  echo "== $t for ${secs}s"
  cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 2>&1 | grep -E "stat::number_of_executed_units|stat::peak_rss|ERROR|panicked|Done" || true
done
