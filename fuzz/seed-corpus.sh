#!/usr/bin/env bash
# Fills fuzz/corpus/parse_eval (git-ignored) with every YAML definition of
# the conformance suite, the best starting points there are for the grammar.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="${ESCSH_CONFORMANCE_DIR:-$here/../../shared/conformance/esc-eval}"
dest="$here/corpus/parse_eval"
mkdir -p "$dest"
[[ -d $src ]] || { echo "no conformance dir at $src" >&2; exit 1; }
n=0
while IFS= read -r -d '' f; do
    rel="${f#"$src"/}"
    cp "$f" "$dest/${rel//\//__}"
    n=$((n + 1))
done < <(find "$src" -name '*.yaml' -print0)
# The saved regressions are worth keeping in rotation as well.
for f in "$here"/regressions/*; do
    if [[ -f $f ]]; then
        cp "$f" "$dest/regression-$(basename "$f")"
        n=$((n + 1))
    fi
done
echo "seeded $n files into $dest"
