#!/usr/bin/env bash
# Cold `escsh open` of issue 3's seed definition (aws-login with OIDC)
# against a local moto server, next to one raw AssumeRoleWithWebIdentity
# call made with curl and with the aws CLI, in one hyperfine run. Prints a
# markdown table.
#
# Needs: hyperfine, curl, moto_server and aws (ESCSH_MOTO_SERVER /
# ESCSH_AWS_CLI or on PATH), and a release build (`cargo build --release`;
# ESCSH_BIN overrides the binary). Installs nothing. RUNS sets the number of
# runs per command (default 50).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

escsh="${ESCSH_BIN:-target/release/escsh}"
moto="${ESCSH_MOTO_SERVER:-$(command -v moto_server || true)}"
aws="${ESCSH_AWS_CLI:-$(command -v aws || true)}"
runs="${RUNS:-50}"

missing=()
command -v hyperfine >/dev/null || missing+=("hyperfine (apt-get install hyperfine)")
command -v curl >/dev/null || missing+=("curl (apt-get install curl)")
[[ -x $moto ]] || missing+=("moto_server (pip install 'moto[server]', or set ESCSH_MOTO_SERVER)")
[[ -x $aws ]] || missing+=("aws (pip install awscli, or set ESCSH_AWS_CLI)")
[[ -x $escsh ]] || missing+=("$escsh (cargo build --release, or set ESCSH_BIN)")
if ((${#missing[@]})); then
    printf 'aws-open.sh: missing %s\n' "${missing[@]}" >&2
    exit 1
fi
escsh="$(cd "$(dirname "$escsh")" && pwd)/$(basename "$escsh")"

work="$(mktemp -d)"
moto_pid=""
cleanup() {
    [[ -n $moto_pid ]] && kill "$moto_pid" 2>/dev/null && wait "$moto_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
"$moto" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 600); do
    curl -s -o /dev/null "$url/" && break
    sleep 0.05
done
curl -s -o /dev/null "$url/" || { echo "moto_server did not start:" >&2; cat "$work/moto.log" >&2; exit 1; }

# Only moto, a private home, no ambient AWS configuration.
while IFS='=' read -r name _; do
    [[ $name == AWS_* ]] && unset "$name"
done < <(env)
export HOME="$work" ESCSH_HOME="$work/escsh"
export AWS_ENDPOINT_URL="$url" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
export AWS_WEB_IDENTITY_TOKEN_FILE="$work/token"
token="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl"
printf '%s' "$token" >"$AWS_WEB_IDENTITY_TOKEN_FILE"
role="arn:aws:iam::123456789012:role/dev"
session="pulumi-environments-session"

mkdir -p "$ESCSH_HOME/environments/local/app"
cat >"$ESCSH_HOME/environments/local/app/dev.yaml" <<'EOF'
values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          duration: 1h
          roleArn: arn:aws:iam::123456789012:role/dev
          sessionName: pulumi-environments-session
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}
    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}
    AWS_SESSION_TOKEN: ${aws.login.sessionToken}
EOF
# Baseline: the same process with nothing to open (no runtime, no socket).
cat >"$ESCSH_HOME/environments/local/app/plain.yaml" <<'EOF'
values:
  environmentVariables:
    AWS_REGION: us-east-1
EOF
"$escsh" open local/app/dev --format json >/dev/null || { echo "escsh open failed" >&2; exit 1; }

body="Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=$role&RoleSessionName=$session&WebIdentityToken=$token&DurationSeconds=3600"
hyperfine --shell=none --warmup 5 --runs "$runs" --export-markdown "$work/table.md" \
    --command-name "escsh open (seed definition)" \
    "$escsh open local/app/dev --format json" \
    --command-name "escsh open (no fn::open, baseline)" \
    "$escsh open local/app/plain --format json" \
    --command-name "curl: one AssumeRoleWithWebIdentity" \
    "curl -s -o /dev/null -X POST $url/ -d $body" \
    --command-name "aws sts assume-role-with-web-identity" \
    "$aws sts assume-role-with-web-identity --no-sign-request --role-arn $role --role-session-name $session --web-identity-token $token --duration-seconds 3600" \
    >&2

# The request's own time, without any process start: curl's time_total
# (connect, send, moto's answer) averaged over the same number of calls.
own_ms="$(for _ in $(seq 1 "$runs"); do
    curl -s -o /dev/null -w '%{time_total}\n' -X POST "$url/" -d "$body"
done | awk '{ sum += $1 } END { printf "%.1f", sum / NR * 1000 }')"

echo
cat "$work/table.md"
echo
echo "The AssumeRoleWithWebIdentity request's own time (curl's time_total, mean of $runs): $own_ms ms"
