#!/usr/bin/env bash
# Builds every fuzz target on stable (no sanitizer) and replays the committed corpus through it:
# each seed and each past finding is a regression test.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --bins --target-dir target
for src in fuzz_targets/*.rs; do
  t=$(basename "$src" .rs)
  if [ -d "corpus/$t" ] && [ -n "$(ls -A "corpus/$t")" ]; then
    n=$(ls "corpus/$t" | wc -l)
    echo "replaying $n inputs through $t"
    "target/release/$t" -runs=0 "corpus/$t" >/dev/null 2>&1 || { echo "fuzz replay failed: $t"; "target/release/$t" -runs=0 "corpus/$t" 2>&1 | tail -30; exit 1; }
  fi
done
