# escsh shell hook for bash. Load it with:  eval "$(escsh hook bash)"
#
# At each prompt the hook decides with builtins alone whether anything can
# have changed (directory, ESCSH_STATE, refresh deadline, watched files newer
# than escsh's stamp). Only then does it run `escsh export bash` and eval
# what that prints: export/unset statements and the hook's own bookkeeping.

__escsh_bin=@ESCSH@

__escsh_now() {
    if [[ -n ${EPOCHSECONDS-} ]]; then
        __escsh_t=$EPOCHSECONDS
    else
        printf -v __escsh_t '%(%s)T' -1
    fi
}

# Succeeds when the last export may be out of date.
__escsh_stale() {
    [[ "$PWD" != "${__escsh_pwd-}" || "${ESCSH_STATE-}" != "${__escsh_state-}" ]] && return 0
    local __escsh_t
    __escsh_now
    ((__escsh_t >= ${__escsh_deadline:-0})) && return 0
    local __escsh_f
    for __escsh_f in ${__escsh_watch[@]+"${__escsh_watch[@]}"}; do
        [[ $__escsh_f -nt ${__escsh_stamp-} ]] && return 0
    done
    return 1
}

__escsh_export() {
    # Never trace: the statements carry values.
    local __escsh_x=
    if [[ $- == *x* ]]; then __escsh_x=1; set +x; fi
    local __escsh_out
    __escsh_out="$(__ESCSH_PREV="${__escsh_prev-}" "$__escsh_bin" export bash)"
    # A ^C must not leave half the statements applied; the user's INT trap
    # is put back afterwards.
    local __escsh_int
    __escsh_int="$(trap -p INT)"
    trap '' INT
    eval "$__escsh_out"
    if [[ -n $__escsh_int ]]; then eval "$__escsh_int"; else trap - INT; fi
    __escsh_out=
    if [[ -n $__escsh_x ]]; then set -x; fi
}

__escsh_hook() {
    local __escsh_ret=$?
    if __escsh_stale; then __escsh_export; fi
    return $__escsh_ret
}

if [[ -n ${__bp_imported-} ]]; then
    # bash-preexec owns PROMPT_COMMAND: join its precmd list, first.
    if [[ " ${precmd_functions[*]-} " != *" __escsh_hook "* ]]; then
        precmd_functions=(__escsh_hook ${precmd_functions[@]+"${precmd_functions[@]}"})
    fi
elif [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
    if [[ " ${PROMPT_COMMAND[*]} " != *" __escsh_hook "* ]]; then
        PROMPT_COMMAND=(__escsh_hook "${PROMPT_COMMAND[@]}")
    fi
elif [[ ";${PROMPT_COMMAND-};" != *";__escsh_hook;"* ]]; then
    PROMPT_COMMAND="__escsh_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
