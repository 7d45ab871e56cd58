# escsh shell hook for xonsh. Load it with:  execx($(escsh hook xonsh))
#
# Before each prompt and each command (xonsh runs lines pasted together
# without a prompt between them), and after each change of directory, the
# hook decides
# in Python (no process) whether anything can have changed: directory,
# ESCSH_STATE, refresh deadline, watched files newer than escsh's stamp or
# gone, an .escrc appearing. Only then does it run `escsh export xonsh`
# and exec what that prints (Python assignments) in the interactive
# namespace, `__xonsh__.ctx` (where `execx` itself may not put names).

__xonsh__.ctx["__escsh_bin"] = @ESCSH@

# Loaded again (a new binary): one handler each, not two.
if "__escsh_on_prompt" in __xonsh__.ctx:
    for __escsh_e in (events.on_pre_prompt, events.on_precommand, events.on_chdir):
        __escsh_e.discard(__xonsh__.ctx["__escsh_on_prompt"])


def __escsh_stale():
    import os
    import time

    g = __xonsh__.ctx
    env = __xonsh__.env
    if g.get("__escsh_pwd") != env.get("PWD") or env.get("ESCSH_STATE", "") != g.get("__escsh_state"):
        return True
    if time.time() >= int(g.get("__escsh_deadline") or 0):
        return True
    rc = g.get("__escsh_rc")
    if rc and not os.path.exists(rc):
        return True
    try:
        stamp = os.stat(g.get("__escsh_stamp") or "").st_mtime_ns
    except OSError:
        return True
    for f in g.get("__escsh_watch", []):
        try:
            if os.stat(f).st_mtime_ns > stamp:
                return True
        except OSError:
            return True
    return any(os.path.lexists(f) for f in g.get("__escsh_absent", []))


def __escsh_export():
    import signal
    import subprocess
    import sys
    import threading

    g = __xonsh__.ctx
    child = __xonsh__.env.detype()
    child["__ESCSH_PREV"] = g.get("__escsh_prev", "")
    child["__ESCSH_STAMP"] = g.get("__escsh_stamp", "")
    out = subprocess.run(
        [g["__escsh_bin"], "export", "xonsh"], env=child, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    ).stdout
    # Never traced (the statements carry values), and a ^C cannot apply
    # half of them; the user's tracer and handler come back afterwards.
    # (xonsh may run prompt events off the main thread, which a ^C never
    # interrupts and which cannot touch signal handlers.)
    main = threading.current_thread() is threading.main_thread()
    tracer = sys.gettrace()
    sys.settrace(None)
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        exec(out.decode("ascii"), g)
    finally:
        if main:
            signal.signal(signal.SIGINT, handler)
        sys.settrace(tracer)


def __escsh_on_prompt(**_):
    if __escsh_stale():
        __escsh_export()


for __escsh_f in (__escsh_stale, __escsh_export, __escsh_on_prompt):
    __xonsh__.ctx[__escsh_f.__name__] = __escsh_f
events.on_pre_prompt(__escsh_on_prompt)
events.on_precommand(__escsh_on_prompt)
events.on_chdir(__escsh_on_prompt)
del __escsh_f
