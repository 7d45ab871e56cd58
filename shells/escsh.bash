# escsh shell hook for bash. Load it with:  eval "$(escsh hook bash)"
#
# At each prompt the hook decides with builtins alone whether anything can
# have changed (directory, ESCSH_STATE, refresh deadline, watched files newer
# than escsh's stamp or gone, an .escrc appearing). Only then does it run `escsh export bash` and eval
# what that prints: export/unset statements and the hook's own bookkeeping.

__escsh_bin=@ESCSH@

__escsh_export() {
    # Never trace (set -x) nor echo (set -v): the statements carry values.
    # The user's settings come back at the end.
    local __escsh_x='' __escsh_v=''
    if [[ $- == *x* ]]; then __escsh_x=1; set +x; fi
    if [[ $- == *v* ]]; then __escsh_v=1; set +v; fi
    local __escsh_out
    __escsh_out="$(__ESCSH_PREV="${__escsh_prev-}" __ESCSH_STAMP="${__escsh_stamp-}" "$__escsh_bin" export bash)"
    # A ^C must not leave half the statements applied; the user's INT trap
    # is put back afterwards.
    local __escsh_int
    __escsh_int="$(trap -p INT)"
    trap '' INT
    eval "$__escsh_out"
    if [[ -n $__escsh_int ]]; then eval "$__escsh_int"; else trap - INT; fi
    __escsh_out=
    if [[ -n $__escsh_v ]]; then set -v; fi
    if [[ -n $__escsh_x ]]; then set -x; fi
}

# The fast path: builtins only, one function call, no subshell.
# shellcheck disable=SC2154 # the __escsh_* state is assigned by what
# `escsh export` prints, which __escsh_export evals.
__escsh_hook() {
    local __escsh_ret=$? __escsh_now __escsh_f
    if [[ "$PWD" == "${__escsh_pwd-}" && "${ESCSH_STATE-}" == "${__escsh_state-}" ]]; then
        if [[ -n ${EPOCHSECONDS-} ]]; then
            __escsh_now=$EPOCHSECONDS
        else
            printf -v __escsh_now '%(%s)T' -1
        fi
        # The .escrc that applies, if any, must still exist (a missing stamp
        # makes every watched file newer).
        if ((__escsh_now < ${__escsh_deadline:-0})) && [[ -z ${__escsh_rc-} || -e $__escsh_rc ]]; then
            for __escsh_f in ${__escsh_watch[@]+"${__escsh_watch[@]}"}; do
                if [[ $__escsh_f -nt ${__escsh_stamp-} ]]; then
                    __escsh_export
                    return $__escsh_ret
                fi
            done
            for __escsh_f in ${__escsh_absent[@]+"${__escsh_absent[@]}"}; do
                if [[ -e $__escsh_f ]]; then
                    __escsh_export
                    return $__escsh_ret
                fi
            done
            return $__escsh_ret
        fi
    fi
    __escsh_export
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
    # shellcheck disable=SC2128,SC2178 # not an array here: the branch above
    # took the array form.
    PROMPT_COMMAND="__escsh_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
