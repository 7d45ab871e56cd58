#!/usr/bin/env bash
# What installing escsh costs: a clean `cargo install --path . --locked`
# (fresh target directory, crates already downloaded), the size of the
# installed binary, and what that binary costs the shell hook (bench/hook.sh).
#
#   bench/install.sh                  the release profile in Cargo.toml
#   PROFILE=before bench/install.sh   the profile before issue 7 (fat LTO,
#                                     one codegen unit)
#   CARGO_PROFILE_RELEASE_LTO=thin bench/install.sh   any other variant,
#                                     through cargo's own variables
#
# A release build keeps both cores busy for minutes: run it on a quiet
# machine, once. The load average before and after is printed with the
# figures, since it changes them more than anything else.
set -euo pipefail

cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ${PROFILE:-} == before ]]; then
    export CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
fi

# Downloads are not part of the measure.
cargo fetch --locked >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "profile: ${PROFILE:-Cargo.toml} (lto=${CARGO_PROFILE_RELEASE_LTO:-as in Cargo.toml}, codegen-units=${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-as in Cargo.toml})"
echo "before:  $(uptime)"
# CPU seconds (user + sys, the compilers included) do not depend on the
# load the way wall-clock time does: on an idle machine the wall-clock
# time is at least CPU / cores.
TIMEFORMAT='install: %0R s wall-clock, %0U s user + %0S s sys'
time cargo install --quiet --path . --locked --root "$work/root" --target-dir "$work/target"
echo "after:   $(uptime)"
bin=$work/root/bin/escsh
echo "binary:  $(stat -c %s "$bin") bytes ($(du -h "$bin" | cut -f1))"
echo
if command -v hyperfine >/dev/null; then
    bench/hook.sh "$bin"
else
    echo "hook:    skipped (bench/hook.sh needs hyperfine)"
fi
