//! Reading what `strace -f -o LOG` wrote for a shell session: which
//! processes were created, which programs they ran, and where the shell
//! opened a mark file (see [`super::Sh::mark`]), so a test can count every
//! process between two marks, not only the ones it expected.

/// One traced system call (only the start of it, for a call strace split
/// into `<unfinished ...>` and `<... resumed>`; the result of a resumed
/// process creation is kept as `child`).
#[derive(Debug, Clone)]
pub struct Event {
    pub pid: u32,
    pub kind: Kind,
    /// The line as strace wrote it, for failure messages.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `execve`/`execveat`: the program path and its arguments (as strace
    /// prints them, C-escaped and possibly cut at 512 bytes).
    Exec { program: String, argv: Vec<String> },
    /// `fork`, `vfork`, or `clone`/`clone3` of a process (not a thread).
    Spawn,
    /// A thread: not a process, never counted.
    Thread,
    /// `open`/`openat` of this path.
    Open(String),
    /// The rest of a call that started on an earlier line.
    Resumed,
}

#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub events: Vec<Event>,
    /// (child, parent) for every process created.
    pub parents: Vec<(u32, u32)>,
}

impl Trace {
    pub fn parse(log: &str) -> Trace {
        let mut trace = Trace::default();
        for line in log.lines() {
            let Some((pid, call)) = line.split_once(' ') else {
                continue;
            };
            let Ok(pid) = pid.trim().parse::<u32>() else {
                continue;
            };
            let call = call.trim_start();
            let kind = if call.starts_with("<...") {
                Kind::Resumed
            } else if call.starts_with("execve(") || call.starts_with("execveat(") {
                let strings = quoted_strings(call);
                let program = strings.first().cloned().unwrap_or_default();
                Kind::Exec {
                    program,
                    argv: strings.into_iter().skip(1).collect(),
                }
            } else if call.starts_with("fork(") || call.starts_with("vfork(") {
                Kind::Spawn
            } else if call.starts_with("clone(") || call.starts_with("clone3(") {
                if call.contains("CLONE_THREAD") {
                    Kind::Thread
                } else {
                    Kind::Spawn
                }
            } else if call.starts_with("open(") || call.starts_with("openat(") {
                Kind::Open(quoted_strings(call).into_iter().next().unwrap_or_default())
            } else {
                continue;
            };
            let creates = matches!(kind, Kind::Spawn | Kind::Thread | Kind::Resumed)
                && (call.contains("clone") || call.contains("fork"));
            if creates {
                if let Some(child) = result(call) {
                    trace.parents.push((child, pid));
                }
            }
            trace.events.push(Event {
                pid,
                kind,
                text: line.to_string(),
            });
        }
        trace
    }

    /// Where the shell opened the mark `name` (the first time).
    pub fn mark(&self, name: &str) -> usize {
        let suffix = format!("/{name}");
        self.events
            .iter()
            .position(|e| matches!(&e.kind, Kind::Open(p) if p.ends_with(&suffix)))
            .unwrap_or_else(|| panic!("the trace has no open of the mark {name}"))
    }

    /// Processes created and programs run between the marks `from` and
    /// `to`, as strace's lines.
    pub fn processes_between(&self, from: &str, to: &str) -> Vec<String> {
        let (a, b) = (self.mark(from), self.mark(to));
        assert!(a < b, "mark {from} comes after {to}");
        self.events[a + 1..b]
            .iter()
            .filter(|e| matches!(e.kind, Kind::Spawn | Kind::Exec { .. }))
            .map(|e| e.text.clone())
            .collect()
    }

    /// Every exec of `program`, with the pid that ran it.
    pub fn execs_of<'a>(&'a self, program: &'a str) -> impl Iterator<Item = (u32, &'a [String])> {
        self.events.iter().filter_map(move |e| match &e.kind {
            Kind::Exec { program: p, argv } if p == program => Some((e.pid, argv.as_slice())),
            _ => None,
        })
    }

    /// The process that created `pid`.
    pub fn parent(&self, pid: u32) -> Option<u32> {
        self.parents
            .iter()
            .find(|(child, _)| *child == pid)
            .map(|(_, parent)| *parent)
    }

    /// The program `pid` (or, before it ran one, its nearest ancestor) runs.
    pub fn program_of(&self, pid: u32) -> Option<&str> {
        let mut p = Some(pid);
        while let Some(pid) = p {
            let last = self.events.iter().rev().find_map(|e| match &e.kind {
                Kind::Exec { program, .. } if e.pid == pid => Some(program.as_str()),
                _ => None,
            });
            if last.is_some() {
                return last;
            }
            p = self.parent(pid);
        }
        None
    }
}

/// The `"..."` strings of a call, in order, unescaped only for `\"` and
/// `\\` (enough for paths and arguments the tests choose).
fn quoted_strings(call: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = call.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        if n != '"' && n != '\\' {
                            s.push('\\');
                        }
                        s.push(n);
                    }
                }
                '"' => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

/// The `= N` result at the end of a finished call.
fn result(call: &str) -> Option<u32> {
    call.rsplit_once(") = ")
        .and_then(|(_, r)| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}
