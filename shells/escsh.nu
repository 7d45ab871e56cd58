# escsh shell hook for nushell. Nushell cannot eval text, so save the hook
# once and source it from config.nu:
#
#     escsh hook nu | save -f ~/.config/nushell/escsh.nu
#     source ~/.config/nushell/escsh.nu
#
# At each prompt (pre_prompt) and on a directory change (env_change.PWD) the
# hook decides with builtins alone whether anything can have changed
# (directory, ESCSH_STATE, refresh deadline, watched files newer than
# escsh's stamp or gone, an .escrc appearing). Only then does it run
# `escsh export nu`, which prints JSON: variables to set and to hide, and the
# hook's own bookkeeping, kept in the record $env.__escsh (a record is never
# passed to other programs).

$env.__escsh = {
    bin: @ESCSH@
    pwd: "" state: "" stamp: "" prev: "" rc: "" watch: [] absent: []
    deadline: "0" ttl: "0"
}

# Whether the last export may be out of date.
def __escsh_stale []: nothing -> bool {
    let k = $env.__escsh
    if $env.PWD != $k.pwd or ($env.ESCSH_STATE? | default "") != $k.state {
        return true
    }
    if (date now | into int) // 1_000_000_000 >= ($k.deadline | into int) {
        return true
    }
    if $k.rc != "" and not ($k.rc | path exists) {
        return true
    }
    if ($k.absent | any {|f| $f | path exists }) {
        return true
    }
    # One `ls` for the stamp and the watched files: a missing one (the
    # stamp included) or one newer than the stamp means "look again".
    let files = try { ls -D $k.stamp ...$k.watch } catch { return true }
    if ($files | length) != ($k.watch | length) + 1 {
        return true
    }
    let stamp = $files | where name == $k.stamp | get 0?.modified?
    $stamp == null or ($files | any {|f| $f.modified > $stamp })
}

def --env __escsh_export [] {
    let k = $env.__escsh
    # The previous values and the stamp go to escsh's environment only.
    # Nushell has no xtrace: nothing echoes what is applied.
    let out = try {
        with-env {__ESCSH_PREV: $k.prev, __ESCSH_STAMP: $k.stamp} { ^$k.bin export nu }
    } catch {
        # escsh said why on stderr and printed nothing to apply.
        return
    }
    let change = $out | from json
    load-env $change.set
    for name in $change.unset {
        hide-env -i $name
    }
    $env.__escsh = $change.keep | insert bin $k.bin
}

def --env __escsh_hook [] {
    if (__escsh_stale) {
        __escsh_export
    }
}

# Loading the hook again (a re-sourced config) replaces its closures
# instead of adding a second set.
def __escsh_not_ours [hook: any] {
    ($hook | describe) != "closure" or ((view source $hook) !~ '__escsh_hook')
}
$env.config.hooks.pre_prompt = (
    $env.config.hooks.pre_prompt? | default []
    | where {|h| __escsh_not_ours $h } | append {|| __escsh_hook }
)
$env.config.hooks.env_change.PWD = (
    $env.config.hooks.env_change.PWD? | default []
    | where {|h| __escsh_not_ours $h } | append {|before, after| __escsh_hook }
)
