#!/usr/bin/env bash
# Runs the evaluator benchmark (benches/eval.rs) and prints what the
# BENCHMARKS.md table needs: machine, date, commit, criterion's estimates.
# Installs nothing. Extra arguments go to criterion (e.g. a filter: large).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet 2>/dev/null || echo ' (dirty tree)')"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rustc:   $(rustc --version)"
echo
cargo bench --bench eval -- "$@"
