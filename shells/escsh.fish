# escsh shell hook for fish. Load it with:  escsh hook fish | source
#
# At each prompt the hook decides with builtins alone whether anything can
# have changed (directory, ESCSH_STATE, refresh deadline, watched files newer
# than escsh's stamp). Only then does it run `escsh export fish`.

set -g __escsh_bin @ESCSH@

# Succeeds when the last export may be out of date.
function __escsh_stale
    test "$PWD" != "$__escsh_pwd"; and return 0
    test "$ESCSH_STATE" != "$__escsh_state"; and return 0
    # fish has no clock variable: the deadline is kept as seconds after the stamp.
    set -l age (path mtime --relative -- $__escsh_stamp 2>/dev/null); or return 0
    test $age -ge $__escsh_ttl; and return 0
    test -n "$__escsh_rc"; and not test -e "$__escsh_rc"; and return 0
    for f in $__escsh_watch
        test $f -nt $__escsh_stamp; and return 0
    end
    for f in $__escsh_absent
        test -e $f; and return 0
    end
    return 1
end

function __escsh_export
    # Never trace: the statements carry values. (fish has no verbose mode;
    # only its developer debug categories, chosen at startup with -d, can
    # echo evaluated text, and a script cannot turn those off.)
    set -l fish_trace
    set -lx __ESCSH_PREV $__escsh_prev
    set -lx __ESCSH_STAMP $__escsh_stamp
    $__escsh_bin export fish | source
end

function __escsh_hook --on-event fish_prompt
    __escsh_stale; and __escsh_export
    # Directory changes made at the prompt without a new prompt (Alt-arrows).
    function __escsh_on_pwd --on-variable PWD
        __escsh_stale; and __escsh_export
    end
end

function __escsh_on_preexec --on-event fish_preexec
    functions -e __escsh_on_pwd
end
