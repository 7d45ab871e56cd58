# escsh shell hook for zsh. Load it with:  eval "$(escsh hook zsh)"
#
# At each prompt (precmd) the hook decides with builtins alone whether
# anything can have changed (directory, ESCSH_STATE, refresh deadline,
# watched files newer than escsh's stamp). Only then does it run
# `escsh export zsh` and eval what that prints.

typeset -g __escsh_bin=@ESCSH@
zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null

# Succeeds when the last export may be out of date.
__escsh_stale() {
    emulate -L zsh
    [[ "$PWD" != "${__escsh_pwd-}" || "${ESCSH_STATE-}" != "${__escsh_state-}" ]] && return 0
    (( ${EPOCHSECONDS:-0} >= ${__escsh_deadline:-0} )) && return 0
    local f
    for f in "${(@)__escsh_watch}"; do
        [[ $f -nt ${__escsh_stamp-} ]] && return 0
    done
    return 1
}

__escsh_export() {
    # Never trace (the statements carry values); a ^C must not leave half
    # of them applied. Both settings end with the function.
    setopt localoptions localtraps noxtrace noverbose
    trap '' INT
    local __escsh_out
    __escsh_out="$(__ESCSH_PREV="${__escsh_prev-}" "$__escsh_bin" export zsh)"
    eval "$__escsh_out"
}

__escsh_hook() {
    if __escsh_stale; then __escsh_export; fi
}

autoload -Uz add-zsh-hook
add-zsh-hook precmd __escsh_hook
