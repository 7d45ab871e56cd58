#!/usr/bin/env bash
# One `escsh open` of a Pulumi Cloud environment against a loopback
# stand-in (bench/cloud-standin.py), beside the same two HTTP requests
# (POST .../open, GET .../open/{id}) made by one curl process, in one
# hyperfine run. Goal (issue 8): escsh within 2 ms of curl. Prints a
# markdown table and curl's own time for the two requests.
#
# Needs: hyperfine, curl, python3, and a release build (`cargo build
# --release`; ESCSH_BIN overrides the binary). RUNS sets the number of runs
# per command (default 100).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

escsh="${ESCSH_BIN:-target/release/escsh}"
runs="${RUNS:-100}"

missing=()
command -v hyperfine >/dev/null || missing+=("hyperfine (apt-get install hyperfine)")
command -v curl >/dev/null || missing+=("curl (apt-get install curl)")
command -v python3 >/dev/null || missing+=("python3 (apt-get install python3)")
[[ -x $escsh ]] || missing+=("$escsh (cargo build --release, or set ESCSH_BIN)")
if ((${#missing[@]})); then
    printf 'cloud-open.sh: missing %s\n' "${missing[@]}" >&2
    exit 1
fi
escsh="$(cd "$(dirname "$escsh")" && pwd)/$(basename "$escsh")"

work="$(mktemp -d)"
standin_pid=""
cleanup() {
    [[ -n $standin_pid ]] && kill "$standin_pid" 2>/dev/null && wait "$standin_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

token="pul-bench-0123456789"
python3 bench/cloud-standin.py "$token" >"$work/port" &
standin_pid=$!
for _ in $(seq 1 100); do
    [[ -s $work/port ]] && break
    sleep 0.05
done
url="http://127.0.0.1:$(cat "$work/port")"

# A private home and this stand-in only: never the real ~/.pulumi.
while IFS='=' read -r name _; do
    [[ $name == PULUMI_* ]] && unset "$name"
done < <(env)
export HOME="$work" ESCSH_HOME="$work/escsh"
export PULUMI_BACKEND_URL="$url" PULUMI_ACCESS_TOKEN="$token"

"$escsh" open acme/app/dev app.url --format string | grep -qx 'https://dev.example' || {
    echo "cloud-open.sh: escsh could not open the stand-in's environment" >&2
    exit 1
}

env_path="$url/api/esc/environments/acme/app/dev"
# The token goes to curl through a config file, not its argument list.
{
    printf 'header = "Authorization: token %s"\n' "$token"
    printf 'header = "Accept: application/vnd.pulumi+8"\nheader = "Content-Type: application/json"\n'
} >"$work/curlrc"
curl_cmd="curl -sf -K $work/curlrc -X POST '$env_path/open?duration=12h0m0s' -o /dev/null --next -sf -K $work/curlrc '$env_path/open/bench' -o /dev/null"

# The hook's first load of the same environment in a new shell: opened by a
# detached `escsh refresh` that the prompt waits for (the cache is emptied
# before each run, so every run is a first open).
mkdir -p "$work/proj"
echo 'acme/app/dev' >"$work/proj/.escrc"
(cd "$work/proj" && "$escsh" allow >/dev/null 2>&1)
first_load="sh -c 'cd $work/proj && exec $escsh export bash >/dev/null'"
(cd "$work/proj" && "$escsh" export bash 2>/dev/null) | grep -q "APP_URL='https://dev.example'" || {
    echo "cloud-open.sh: the hook did not load the stand-in's environment at once" >&2
    exit 1
}

hyperfine -N --warmup 5 --runs "$runs" --export-markdown "$work/table.md" \
    -n 'escsh open acme/app/dev' "$escsh open acme/app/dev" \
    -n 'hook first load (escsh export bash, empty cache)' \
    --prepare "rm -rf $ESCSH_HOME/run/opened" "$first_load" \
    -n 'curl: POST open + GET open/{id}' "$curl_cmd" >&2
cat "$work/table.md"

# curl's own time for the two requests (time_total of each), mean of 100.
total=0
for _ in $(seq 1 100); do
    t=$(curl -s -K "$work/curlrc" -X POST "$env_path/open?duration=12h0m0s" -o /dev/null -w '%{time_total}\n' \
        --next -s -K "$work/curlrc" "$env_path/open/bench" -o /dev/null -w '%{time_total}\n' |
        awk '{s += $1} END {print s}')
    total=$(awk -v a="$total" -v b="$t" 'BEGIN {print a + b}')
done
awk -v t="$total" 'BEGIN {printf "\nThe two requests themselves (curl time_total, mean of 100): %.2f ms\n", t * 10}'
