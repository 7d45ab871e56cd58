# escsh shell hook for zsh. Load it with:  eval "$(escsh hook zsh)"
#
# At each prompt (precmd) the hook decides with builtins alone whether
# anything can have changed (directory, ESCSH_STATE, refresh deadline,
# watched files newer than escsh's stamp). Only then does it run
# `escsh export zsh` and eval what that prints.

typeset -g __escsh_bin=@ESCSH@
zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null

__escsh_export() {
    # Never trace nor echo (xtrace, verbose: the statements carry values);
    # a ^C must not leave half of them applied. localoptions and
    # localtraps give the user's settings back when the function returns.
    setopt localoptions localtraps noxtrace noverbose
    trap '' INT
    local __escsh_out
    __escsh_out="$(__ESCSH_PREV="${__escsh_prev-}" __ESCSH_STAMP="${__escsh_stamp-}" "$__escsh_bin" export zsh)"
    eval "$__escsh_out"
}

# The fast path: builtins only, no subshell.
__escsh_hook() {
    local f
    if [[ "$PWD" == "${__escsh_pwd-}" && "${ESCSH_STATE-}" == "${__escsh_state-}" ]] &&
        (( ${EPOCHSECONDS:-0} < ${__escsh_deadline:-0} )) &&
        [[ -z ${__escsh_rc-} || -e $__escsh_rc ]]; then
        # `[@]`, not `(@)`: under KSH_ARRAYS `${(@)a}` is the first element only.
        for f in "${__escsh_watch[@]}"; do
            if [[ $f -nt ${__escsh_stamp-} ]]; then
                __escsh_export
                return
            fi
        done
        for f in "${__escsh_absent[@]}"; do
            if [[ -e $f ]]; then
                __escsh_export
                return
            fi
        done
        return
    fi
    __escsh_export
}

autoload -Uz add-zsh-hook
add-zsh-hook precmd __escsh_hook
