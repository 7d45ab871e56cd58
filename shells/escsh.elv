# escsh shell hook for elvish. Load it from rc.elv with:
#
#     eval (escsh hook elvish | slurp)
#
# After each `cd` (after-chdir) and before each prompt (edit:before-readline)
# the hook decides with builtins whether anything can have changed, and only
# then runs `escsh export elvish` and evals what it prints: set-env/unset-env
# for the user's variables and `set` of its bookkeeping (namespace `s:`).
# (Nothing to do before a `cd`: what to load depends on where it lands.)
#
# elvish (0.19) has no clock and cannot read a file's mtime without a
# process: where an .escrc applies (its files to watch, a refresh deadline)
# every prompt runs escsh; elsewhere a prompt starts no process.

var __escsh_bin = @ESCSH@
# What escsh prints is evaluated in this namespace, so its `set`s land here
# (a closure only sees the variables it names).
var s: = (ns [
    &__escsh_pwd='' &__escsh_state='' &__escsh_stamp='' &__escsh_prev=''
    &__escsh_rc='' &__escsh_watch=[] &__escsh_absent=[]
    &__escsh_deadline=0 &__escsh_ttl=0
])

use path
use str

# Whether the last export may be out of date. Where an .escrc applies that
# needs escsh itself (see the top); elsewhere only an .escrc appearing can
# change anything. (No `return` here: elvish implements it as an exception,
# which costs more than the rest of the check.)
fn __escsh_stale {
    var stale = (or (not-eq $pwd $s:__escsh_pwd) ^
        (not-eq $E:ESCSH_STATE $s:__escsh_state) ^
        (not-eq $s:__escsh_rc ''))
    if (not $stale) {
        for f $s:__escsh_absent {
            # eval-symlinks fails unless the path exists: ten times cheaper
            # than path:is-regular &follow-symlink.
            if ?(nop (path:eval-symlinks $f)) {
                set stale = $true
                break
            }
        }
    }
    put $stale
}

fn __escsh_export {
    # The command gets the previous values and the stamp in its own
    # environment only. elvish has no xtrace: nothing echoes the statements.
    var out = ''
    try {
        set out = ({
            tmp E:__ESCSH_PREV = $s:__escsh_prev
            tmp E:__ESCSH_STAMP = $s:__escsh_stamp
            (external $__escsh_bin) export elvish | slurp
        })
    } catch {
        # escsh said why on stderr and printed nothing to apply.
        return
    }
    eval $out &ns=$s:
}

fn __escsh_hook {
    if (__escsh_stale) {
        __escsh_export
    }
}

# Loading the hook again (a re-sourced rc.elv) replaces its functions
# instead of adding a second set; a builtin has no body to look at.
fn __escsh_others {|hooks|
    for h $hooks {
        var body = ''
        try { set body = $h[body] } catch { }
        if (not (str:contains $body __escsh_)) { put $h }
    }
}
set after-chdir = [(__escsh_others $after-chdir) {|_| __escsh_hook }]
# The editor (edit:) exists only in an interactive shell; a script that
# loads the hook still gets it on `cd`. (`?()` runs in this scope, where a
# `try` block would be a closure that does not see edit:.)
var _ = ?(eval 'set edit:before-readline = [(__escsh_others $edit:before-readline) $__escsh_hook~]')
