#!/usr/bin/env bash
# The credential agent (issue 9): latency of one credential request to the
# endpoint, p50/p99 over REQUESTS requests (default 1000), each on a new
# connection as the SDKs make them, with a small Python client and with
# curl; beside the same client fetching a static JSON file from Python's
# http.server on loopback (a floor for "a local HTTP answer"). Then the
# agent's resident memory after it has been idle a few seconds. The
# environment uses aws-login's `static` keys: no STS, so only the agent
# and the cache are measured. Prints a markdown table.
#
# Needs: python3, curl and a release build (`cargo build --release`;
# ESCSH_BIN overrides the binary). Installs nothing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

escsh="${ESCSH_BIN:-target/release/escsh}"
requests="${REQUESTS:-1000}"
for tool in python3 curl; do
    command -v "$tool" >/dev/null || { echo "agent.sh: missing $tool" >&2; exit 1; }
done
[[ -x $escsh ]] || { echo "agent.sh: missing $escsh (cargo build --release, or set ESCSH_BIN)" >&2; exit 1; }
escsh="$(cd "$(dirname "$escsh")" && pwd)/$(basename "$escsh")"

work="$(mktemp -d)"
export ESCSH_HOME="$work/home"
mkdir -m 700 "$ESCSH_HOME"
peer_pid=''
cleanup() {
    "$escsh" agent stop 2>/dev/null || true
    [[ -n $peer_pid ]] && kill "$peer_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/def.yaml" <<'EOF'
values:
  aws:
    login:
      fn::open::aws-login:
        static:
          accessKeyId: AKIABENCHEXAMPLE0001
          secretAccessKey: {fn::secret: bench-secret-access-key}
          sessionToken: {fn::secret: bench-session-token}
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}
    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}
    AWS_SESSION_TOKEN: ${aws.login.sessionToken}
EOF
"$escsh" env init bench/agent/static -f "$work/def.yaml" >/dev/null 2>&1
# Starts the agent and fills the cache.
"$escsh" aws credential-process bench/agent/static >/dev/null

agent_dir="$ESCSH_HOME/run/agent"
port="$(cut -d' ' -f1 "$agent_dir/port")"
pid="$(cut -d' ' -f2 "$agent_dir/port")"
path="/v1/credentials/env/$(printf %s bench/agent/static | base64 | tr '+/' '-_' | tr -d '=\n')"
url="http://127.0.0.1:$port$path"

# The peer: a static file of the same size from Python's http.server.
"$escsh" aws credential-process bench/agent/static > "$work/static.json"
peer_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 -m http.server "$peer_port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
peer_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$peer_port/static.json" >/dev/null && break; sleep 0.1; done

client() { # URL TOKEN-FILE LABEL
    python3 - "$1" "$2" "$requests" "$3" <<'EOF'
import http.client, sys, time, urllib.parse
url, token_file, n, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlsplit(url)
token = open(token_file).read().strip() if token_file else ""
times = []
for _ in range(n + 50):
    t = time.perf_counter_ns()
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.request("GET", u.path, headers={"Authorization": token})
    r = c.getresponse(); body = r.read(); c.close()
    times.append(time.perf_counter_ns() - t)
    assert r.status == 200, (r.status, body)
times = sorted(times[50:])
ms = lambda ns: f"{ns / 1e6:.3f}"
print(f"| {label} | {ms(times[len(times) // 2])} | {ms(times[int(len(times) * 0.99)])} | {ms(sum(times) / len(times))} |")
EOF
}

curl_times() { # URL TOKEN-FILE LABEL
    local auth=()
    [[ -n $2 ]] && auth=(-H "Authorization: $(cat "$2")")
    for _ in $(seq "$requests"); do
        curl -s -o /dev/null -w '%{time_total}\n' "${auth[@]}" "$1"
    done | sort -n | awk -v label="$3" '{ t[NR] = $1 * 1000; s += $1 * 1000 }
        END { printf "| %s | %.3f | %.3f | %.3f |\n", label, t[int(NR / 2) + 1], t[int(NR * 0.99)], s / NR }'
}

echo "| client, $requests requests, a new connection each | p50 ms | p99 ms | mean ms |"
echo "|---|---|---|---|"
client "$url" "$agent_dir/token" "escsh agent, Python http.client"
client "http://127.0.0.1:$peer_port/static.json" "" "static file from python3 -m http.server"
curl_times "$url" "$agent_dir/token" "escsh agent, curl (time_total)"
curl_times "http://127.0.0.1:$peer_port/static.json" "" "static file from python3 -m http.server, curl"
sleep 5
echo
echo "agent idle RSS: $(awk '/VmRSS/ { print $2, $3 }' "/proc/$pid/status") (pid $pid, $(nproc) cores, $(uname -r))"
