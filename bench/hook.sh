#!/usr/bin/env bash
# What the shell hook costs a prompt: escsh beside direnv and mise (when
# they are installed), measured the same way in one run.
#
#   bench/hook.sh [path/to/escsh]      (default: target/release/escsh)
#
# Whole-process cases use `hyperfine -N` in a minimal environment (env -i)
# with a private HOME; each tool gets a project with 5 plain variables. The
# in-shell case times the hook function itself inside bash, which is what a
# prompt really pays; nushell and elvish get the same in-shell measure, in a
# loaded project and outside any (beside direnv's elvish hook; direnv has no
# nushell hook). This script installs nothing: it says what is missing.
set -euo pipefail

escsh=$(realpath "${1:-target/release/escsh}")
runs=${RUNS:-50}
loops=${LOOPS:-2000}
direnv=$(command -v direnv || true)
mise=${MISE:-$(command -v mise || true)}
command -v hyperfine >/dev/null || { echo "bench/hook.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
[[ -x $escsh ]] || { echo "bench/hook.sh: $escsh not found: cargo build --release" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
home=$work/home
mkdir -p "$home" "$work/esc/proj" "$work/direnv/proj" "$work/mise/proj" "$work/json"
base=(env -i "PATH=/usr/bin:/bin" "HOME=$home" "TERM=dumb" "ESCSH_HOME=$home/escsh" "XDG_CONFIG_HOME=$home/.config" "XDG_DATA_HOME=$home/.local/share" "XDG_CACHE_HOME=$home/.cache" "XDG_STATE_HOME=$home/.local/state")

# Fixtures: 5 variables each.
mkdir -p "$home/escsh/environments/local/bench"
{
    echo "values:"
    echo "  environmentVariables:"
    for i in 1 2 3 4 5; do echo "    BENCH_$i: value-$i"; done
} >"$home/escsh/environments/local/bench/five.yaml"
echo "bench/five" >"$work/esc/proj/.escrc"
"${base[@]}" "$escsh" allow "$work/esc/proj" 2>/dev/null
(cd "$work/esc/proj" && "${base[@]}" "$escsh" export bash >/dev/null 2>&1) # warm the cache

if [[ -n $direnv ]]; then
    for i in 1 2 3 4 5; do echo "export BENCH_$i=value-$i"; done >"$work/direnv/proj/.envrc"
    (cd "$work/direnv/proj" && "${base[@]}" "$direnv" allow . 2>/dev/null)
fi
if [[ -n $mise ]]; then
    { echo "[env]"; for i in 1 2 3 4 5; do echo "BENCH_$i = \"value-$i\""; done; } >"$work/mise/proj/mise.toml"
    (cd "$work/mise/proj" && "${base[@]}" "$mise" trust -q . 2>/dev/null)
fi

# measure NAME DIR SETUP COMMAND: SETUP is bash code run first (in DIR) whose
# exported results the measured command inherits.
measure() {
    local name=$1 dir=$2 setup=$3 cmd=$4
    (cd "$dir" && "${base[@]}" bash -c "$setup
        exec hyperfine -N --style none --warmup 3 --runs $runs --export-json '$work/json/$name.json' '$cmd'" >/dev/null 2>&1) ||
        echo "bench/hook.sh: $name failed" >&2
}

# inshell NAME DIR SETUP HOOKFN: microseconds per call of the hook function.
inshell() {
    local name=$1 dir=$2 setup=$3 fn=$4 n=${5:-$loops}
    (cd "$dir" && "${base[@]}" bash -c "$setup
        $fn >/dev/null 2>&1; $fn >/dev/null 2>&1
        s=\$EPOCHREALTIME
        for ((i = 0; i < $n; i++)); do $fn; done >/dev/null 2>&1
        e=\$EPOCHREALTIME
        echo \"\$(( (\${e/./} - \${s/./}) / $n ))\"" >"$work/json/$name.us") 2>/dev/null ||
        echo "bench/hook.sh: $name failed" >&2
}

p=$work/esc/proj
measure floor-true "$work" "" "/bin/true"
measure escsh-enter "$p" "" "$escsh export bash"
measure escsh-steady "$p" "eval \"\$($escsh export bash 2>/dev/null)\"" "$escsh export bash"
measure escsh-leave "$work" "cd $p; eval \"\$($escsh export bash 2>/dev/null)\"; cd $work" "$escsh export bash"
inshell escsh-noop "$p" "eval \"\$($escsh hook bash)\"; __escsh_hook" "__escsh_hook"

if [[ -n $direnv ]]; then
    d=$work/direnv/proj
    measure direnv-enter "$d" "" "$direnv export bash"
    measure direnv-steady "$d" "eval \"\$($direnv export bash 2>/dev/null)\"" "$direnv export bash"
    measure direnv-leave "$work" "cd $d; eval \"\$($direnv export bash 2>/dev/null)\"; cd $work" "$direnv export bash"
    inshell direnv-noop "$d" "eval \"\$($direnv hook bash)\"; _direnv_hook" "_direnv_hook" 300
fi
if [[ -n $mise ]]; then
    m=$work/mise/proj
    act="eval \"\$($mise activate bash)\""
    measure mise-enter "$m" "$act" "$mise hook-env -s bash"
    measure mise-steady "$m" "$act; eval \"\$($mise hook-env -s bash 2>/dev/null)\"" "$mise hook-env -s bash"
    measure mise-leave "$work" "cd $m; $act; eval \"\$($mise hook-env -s bash 2>/dev/null)\"; cd $work" "$mise hook-env -s bash"
    inshell mise-noop "$m" "$act; _mise_hook" "_mise_hook" 300
fi

# inelvish NAME DIR HOOKCODE N: microseconds per call of the prompt hook in
# elvish; HOOKCODE (elvish) must define h~, the function a prompt runs.
inelvish() {
    local name=$1 dir=$2 code=$3 n=${4:-$loops}
    command -v elvish >/dev/null || return 0
    (cd "$dir" && "${base[@]}" "XDG_RUNTIME_DIR=$home" elvish -norc -c "$code
        h; h
        time &on-end={|d| printf \"%.0f\\n\" (* \$d (/ 1000000 $n)) } { range $n | each {|_| h } }" >"$work/json/$name.us" 2>/dev/null) ||
        echo "bench/hook.sh: $name failed" >&2
}

# innu NAME DIR N: the same for escsh's nushell hook.
innu() {
    local name=$1 dir=$2 n=${3:-$loops}
    command -v nu >/dev/null || return 0
    "${base[@]}" "$escsh" hook nu >"$work/escsh.nu"
    (cd "$dir" && "${base[@]}" nu --no-config-file -c "source $work/escsh.nu
        __escsh_hook; __escsh_hook
        let t = (timeit { for i in 1..$n { __escsh_hook } })
        print (\$t / 1us / $n | math round)" >"$work/json/$name.us" 2>/dev/null) || echo "bench/hook.sh: $name failed" >&2
}

# escsh's elvish hook is evaluated in its own namespace: keep its prompt function.
elvhook="var h~ = { }
eval (\"$escsh\" hook elvish | slurp) &on-end={|ns| set h~ = \$ns[__escsh_hook~] }
cd ."
inelvish escsh-elvish-loaded "$p" "$elvhook" 300
inelvish escsh-elvish-outside "$work" "$elvhook"
innu escsh-nu-loaded "$p" 300
innu escsh-nu-outside "$work" 300
if [[ -n $direnv ]]; then
    # Its prompt closure, named; its `except` (removed from elvish before
    # 0.19, where it does not compile) spelled `catch`.
    dhook=$("${base[@]}" "$direnv" hook elvish |
        sed -e 's/^set @edit:before-readline = \$@edit:before-readline {/var h~ = {/' -e 's/} except e {/} catch e {/')
    inelvish direnv-elvish-loaded "$work/direnv/proj" "$dhook" 300
    inelvish direnv-elvish-outside "$work" "$dhook" 300
fi

# The other shells' prompts, measured inside the shell as above. tcsh has
# no clock: a script running the prompt's `precmd` N times is timed from
# outside, less the same script with an empty loop (both load the hook).
# shellcheck disable=SC2016 # $i is tcsh's
tcsh_noop() { # NAME DIR SETUP N
    local name=$1 dir=$2 setup=$3 n=$4 f=$work/$1.csh
    command -v tcsh >/dev/null || return 0
    printf '%s\nprecmd\nset i = 0\nwhile ( $i < %s )\n%s\n@ i++\nend\n' "$setup" "$n" precmd >"$f"
    printf '%s\nprecmd\nset i = 0\nwhile ( $i < %s )\n%s\n@ i++\nend\n' "$setup" "$n" : >"$f.empty"
    (cd "$dir" && a=$(date +%s%N) && "${base[@]}" tcsh -f "$f" >/dev/null 2>&1 && b=$(date +%s%N) &&
        "${base[@]}" tcsh -f "$f.empty" >/dev/null 2>&1 && c=$(date +%s%N) &&
        echo $((((b - a) - (c - b)) / n / 1000))) >"$work/json/$name.us" || echo "bench/hook.sh: $name failed" >&2
}
# xonsh: the prompt handler called in a loop, timed in Python.
xonsh_noop() { # NAME DIR N
    local name=$1 dir=$2 n=$3 f=$work/$1.xsh
    command -v xonsh >/dev/null || return 0
    cat >"$f" <<XSH
execx(\$($escsh hook xonsh))
hook = __xonsh__.ctx["__escsh_on_prompt"]
hook()
import time
s = time.perf_counter()
for _ in range($n):
    hook()
print(int((time.perf_counter() - s) / $n * 1e6))
XSH
    (cd "$dir" && "${base[@]}" xonsh --no-rc "$f" 2>/dev/null) >"$work/json/$name.us" || echo "bench/hook.sh: $name failed" >&2
}
tcsh_noop escsh-tcsh "$p" "eval \"\`$escsh hook tcsh\`\"" 300
xonsh_noop escsh-xonsh "$p" "$loops"
[[ -z $direnv ]] || tcsh_noop direnv-tcsh "$work/direnv/proj" "eval \"\`$direnv hook tcsh\`\"" 300

python3 - "$work/json" "$escsh" "${direnv:-}" "${mise:-}" <<'EOF'
import json, os, sys, subprocess
d = sys.argv[1]
def ms(name):
    p = os.path.join(d, name + ".json")
    if not os.path.exists(p):
        return "–"
    r = json.load(open(p))["results"][0]
    t = sorted(r["times"])
    return f"{r['median']*1000:.2f} ({t[0]*1000:.2f}–{t[-1]*1000:.2f})"
def us(name):
    p = os.path.join(d, name + ".us")
    return f"{int(open(p).read().strip()):,} µs" if os.path.exists(p) and open(p).read().strip() else "–"
def version(cmd, *args):
    try:
        return subprocess.run([cmd, *args], capture_output=True, text=True).stdout.split("\n")[0].strip()
    except Exception:
        return "not installed"
tools = [("escsh", "escsh", version(sys.argv[2], "--version"))]
if sys.argv[3]: tools.append(("direnv", "direnv", "direnv " + version(sys.argv[3], "version")))
if sys.argv[4]: tools.append(("mise", "mise", "mise " + version(sys.argv[4], "--version")))
print("| tool | no-op prompt, in bash | steady (process) | enter, 5 vars (process) | leave (process) |")
print("|---|---|---|---|---|")
for key, label, ver in tools:
    print(f"| {ver} | {us(key + '-noop')} | {ms(key + '-steady')} | {ms(key + '-enter')} | {ms(key + '-leave')} |")
print(f"| bare process (`/bin/true`) | | {ms('floor-true')} | | |")
print()
print("Process columns: milliseconds, median (min–max) of `hyperfine -N`. The no-op column is the")
print("hook function called in a loop inside bash: escsh decides without starting a process;")
print("direnv and mise start their binary at every prompt.")
print()
print("| hook | shell | no-op prompt, loaded project | no-op prompt, outside projects |")
print("|---|---|---|---|")
for key, label in [("escsh-nu", "escsh"), ("escsh-elvish", "escsh"), ("direnv-elvish", "direnv")]:
    shell = key.split("-")[1]
    print(f"| {label} | {shell} | {us(key + '-loaded')} | {us(key + '-outside')} |")
print("| direnv | nu | (direnv has no nushell hook) | |")
print()
print("| tool | no-op prompt, in tcsh | no-op prompt, in xonsh |")
print("|---|---|---|")
print(f"| {tools[0][2]} | {us('escsh-tcsh')} (one process) | {us('escsh-xonsh')} (no process) |")
if sys.argv[3]:
    print(f"| {tools[1][2]} | {us('direnv-tcsh')} (one process) | no xonsh hook |")
print()
print("tcsh: the prompt's precmd run 300 times by a tcsh script, less the same empty loop.")
print("xonsh: the hook's prompt handler called in a loop inside xonsh.")
EOF
