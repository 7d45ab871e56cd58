//! No core dumps from escsh: a crash of a process that holds opened
//! secrets must not write them to a `core` file in the current directory
//! (`ulimit -c unlimited` makes the kernel do exactly that). The command
//! `escsh run` starts gets the user's own limit back, so `run` does not
//! change the program it runs.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::OnceLock;

/// The core limit escsh was started with, saved by [`disable`].
static USER_LIMIT: OnceLock<libc::rlimit> = OnceLock::new();

/// Sets escsh's own soft core limit to 0 and marks the process
/// non-dumpable (which also keeps other processes of the same user from
/// attaching to it or reading its memory through /proc). The hard limit is
/// kept, so the child can be given the user's soft limit back. Call first
/// thing in `main`; failures are ignored (the limits are a defence in
/// depth, not a reason to refuse to run).
pub fn disable() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit/prctl only read or write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
            let _ = USER_LIMIT.set(limit);
            let off = libc::rlimit {
                rlim_cur: 0,
                rlim_max: limit.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &off);
        }
        // Reset by the kernel at execve, so children are dumpable again.
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Makes `cmd` restore the user's core limit in the child before exec.
/// Nothing to do when [`disable`] was not called (escsh as a library).
pub fn restore_in_child(cmd: &mut Command) {
    let Some(&limit) = USER_LIMIT.get() else {
        return;
    };
    // SAFETY: the closure runs between fork and exec and only calls
    // setrlimit, which is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
            Ok(())
        });
    }
}
