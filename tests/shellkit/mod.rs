//! Driving real interactive shells (bash, zsh, fish, nushell, elvish) with
//! the escsh hook, against a private home: nothing here reads or writes the
//! user's files.
//!
//! A session is one shell process fed a whole script: bash and zsh read it
//! from a pipe (their prompt hooks still fire, prompts go to stderr); fish
//! needs a terminal, so it runs under `script` with its stdout and stderr
//! sent to files; xonsh too (it wants a terminal), with an empty rc file
//! so it skips its welcome screen. tcsh reads a pipe like bash and zsh,
//! with empty prompts (it prints them on stdout). nushell and elvish run on
//! a terminal of [`pty`]'s: nushell (whose line editor waits for an answer
//! to "where is the cursor") is typed a line at each prompt, its stderr
//! sent to a file; elvish (whose editor draws on stderr) too, its stdout
//! sent to a file. The shell sees these variables:
//!
//! - `PATH` starts with a directory holding `escsh` (the binary under test);
//! - `WORK`: the directory the shell starts in, where projects live;
//!
//! [`Kit::run_traced`] runs the same session under `strace -f`, so a test
//! sees every process the shell and the hook start (see [`trace`]).
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod creds;
pub mod guards;
pub mod pty;
pub mod scenarios;
pub mod sts;
pub mod trace;
// A crate may include this helper beside another that includes `tools`
// too; the copies are identical and stateless.
#[allow(clippy::duplicate_mod)]
#[path = "../tools/mod.rs"]
pub mod tools;

/// A shell that the hook supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sh {
    Bash,
    Zsh,
    Fish,
    Nu,
    Elvish,
    Xonsh,
    Tcsh,
}

impl Sh {
    pub fn name(self) -> &'static str {
        match self {
            Sh::Bash => "bash",
            Sh::Zsh => "zsh",
            Sh::Fish => "fish",
            Sh::Nu => "nu",
            Sh::Elvish => "elvish",
            Sh::Xonsh => "xonsh",
            Sh::Tcsh => "tcsh",
        }
    }

    /// The line that installs the hook, as a user's rc file would.
    pub fn hook_line(self) -> &'static str {
        match self {
            Sh::Bash => "eval \"$(escsh hook bash)\"",
            Sh::Zsh => "eval \"$(escsh hook zsh)\"",
            Sh::Fish => "escsh hook fish | source",
            // `source` reads its file when the line is parsed: two lines.
            Sh::Nu => "escsh hook nu | save -f ~/escsh.nu\nsource ~/escsh.nu",
            Sh::Elvish => "eval (escsh hook elvish | slurp)",
            Sh::Xonsh => "execx($(escsh hook xonsh))",
            Sh::Tcsh => "eval \"`escsh hook tcsh`\"",
        }
    }

    /// A line that makes the shell itself open `$WORK/NAME` (builtins
    /// only: no process), a mark to find in a trace.
    pub fn mark(self, name: &str) -> String {
        match self {
            Sh::Bash | Sh::Zsh => format!(": < \"$WORK/{name}\""),
            Sh::Fish => format!("true < \"$WORK/{name}\""),
            Sh::Nu => format!("open --raw ($env.WORK | path join {name}) | ignore"),
            Sh::Elvish => format!("nop < $E:WORK/{name}"),
            Sh::Xonsh => format!("open($WORK + '/{name}').close()"),
            Sh::Tcsh => format!(": < \"$WORK/{name}\""),
        }
    }

    /// A prompt that runs no program, where the default one may (fish's
    /// asks git about the directory), so a trace shows only the hook.
    pub fn quiet_prompt(self) -> &'static str {
        match self {
            Sh::Bash => "PS1='$ '",
            Sh::Zsh => "PS1='%% '",
            Sh::Fish => "function fish_prompt; echo -n '> '; end; function fish_right_prompt; end; function fish_title; end",
            Sh::Nu => "$env.PROMPT_COMMAND = {|| '> ' }; $env.PROMPT_COMMAND_RIGHT = {|| '' }",
            Sh::Elvish => "set edit:prompt = { put '> ' }; set edit:rprompt = { put '' }",
            Sh::Xonsh => "$PROMPT = '> '; $RIGHT_PROMPT = ''; $BOTTOM_TOOLBAR = ''; $TITLE = ''",
            Sh::Tcsh => "set prompt = ''",
        }
    }

    /// Sets and exports `name` (the value must not hold `'` or `\\`).
    pub fn set_var(self, name: &str, value: &str) -> String {
        assert!(!value.contains('\'') && !value.contains('\\'));
        match self {
            Sh::Bash | Sh::Zsh => format!("export {name}='{value}'"),
            Sh::Fish => format!("set -gx {name} '{value}'"),
            Sh::Nu => format!("$env.{name} = '{value}'"),
            Sh::Elvish => format!("set-env {name} '{value}'"),
            Sh::Xonsh => format!("${name} = '{value}'"),
            Sh::Tcsh => format!("setenv {name} '{value}'"),
        }
    }

    pub fn unset_var(self, name: &str) -> String {
        match self {
            Sh::Bash | Sh::Zsh => format!("unset {name}"),
            Sh::Fish => format!("set -e {name}"),
            Sh::Nu => format!("hide-env -i {name}"),
            Sh::Elvish => format!("unset-env {name}"),
            Sh::Xonsh => format!("__xonsh__.env.pop('{name}', None)"),
            Sh::Tcsh => format!("unsetenv {name}"),
        }
    }

    /// A line of POSIX shell (redirections, `printf`, `;` lists) as this
    /// shell runs it: nushell and elvish hand it to `sh -c`.
    pub fn posix(self, line: &str) -> String {
        match self {
            Sh::Bash | Sh::Zsh | Sh::Fish | Sh::Xonsh | Sh::Tcsh => line.to_string(),
            Sh::Nu => {
                // A raw string whose closing `'#...` the line does not hold.
                let mut hashes = "#".to_string();
                while line.contains(&format!("'{hashes}")) {
                    hashes.push('#');
                }
                format!("sh -c r{hashes}'{line}'{hashes}")
            }
            Sh::Elvish => format!("sh -c '{}'", line.replace('\'', "''")),
        }
    }

    /// The last command's status, as a line `@TAG N`.
    pub fn show_status(self, tag: &str) -> String {
        match self {
            Sh::Bash | Sh::Zsh => format!("echo \"@{tag} $?\""),
            Sh::Fish => format!("echo \"@{tag} $status\""),
            Sh::Nu => format!("print $\"@{tag} ($env.LAST_EXIT_CODE)\""),
            // elvish has no status: a failing command raises an exception
            // (shown on the terminal), so reaching this line means 0.
            Sh::Elvish => format!("echo '@{tag} 0'"),
            Sh::Xonsh => format!("print('@{tag}', _.rtn)"),
            Sh::Tcsh => format!("echo \"@{tag} $status\""),
        }
    }

    /// A line printing `@TAG NAME=value ...` for each name, `<unset>` for
    /// an unset variable (so empty and unset differ). Read it back with
    /// [`Session::line`].
    pub fn show(self, tag: &str, names: &[&str]) -> String {
        match self {
            Sh::Bash | Sh::Zsh => {
                let parts: Vec<String> = names
                    .iter()
                    .map(|n| format!("{n}=${{{n}-<unset>}}"))
                    .collect();
                format!("printf '%s\\n' \"@{tag} {}\"", parts.join(" "))
            }
            Sh::Fish => {
                let mut s = format!("printf '%s' '@{tag}'; ");
                for n in names {
                    s.push_str(&format!(
                        "if set -q {n}; printf ' {n}=%s' \"${n}\"; else; printf ' {n}=<unset>'; end; "
                    ));
                }
                s.push_str("echo");
                s
            }
            Sh::Nu => {
                let parts: Vec<String> = names
                    .iter()
                    .map(|n| format!("{n}=(if '{n}' in $env {{ $env.{n} }} else {{ '<unset>' }})"))
                    .collect();
                format!("print $\"@{tag} {}\"", parts.join(" "))
            }
            Sh::Elvish => {
                let parts: Vec<String> = names
                    .iter()
                    .map(|n| format!("(if (has-env {n}) {{ put ' {n}='(get-env {n}) }} else {{ put ' {n}=<unset>' }})"))
                    .collect();
                format!("echo '@{tag}'{}", parts.concat())
            }
            Sh::Xonsh => {
                let names: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                format!(
                    "print('@{tag}' + ''.join(' ' + n + '=' + __xonsh__.env.detype().get(n, '<unset>') for n in [{}]))",
                    names.join(", ")
                )
            }
            // `if ( $?X ) echo $X` substitutes $X before testing, and
            // fails when X is unset: the `eval` defers it.
            Sh::Tcsh => {
                let mut s = format!("echo -n '@{tag}'; ");
                for n in names {
                    s.push_str(&format!(
                        "if ( $?{n} ) eval 'echo -n \" {n}=${n}:q\"'; if ( ! $?{n} ) echo -n ' {n}=<unset>'; "
                    ));
                }
                s.push_str("echo ''");
                s
            }
        }
    }
}

/// Whether `sh` can be driven here. A missing shell is a loud skip on a
/// developer's machine and a failure under CI (see [`tools::skip`]).
pub fn available(sh: Sh) -> bool {
    if !tools::require(sh.name()) {
        return false;
    }
    // fish and xonsh need a terminal, which `script` gives them.
    !matches!(sh, Sh::Fish | Sh::Xonsh)
        || tools::require_with(
            "script",
            &["-qec", "true", "/dev/null"],
            "util-linux's script gives fish a terminal",
        )
}

/// One test's world: a private HOME, ESCSH_HOME, work directory and
/// `escsh` on PATH.
pub struct Kit {
    tmp: tempfile::TempDir,
    /// Canonical path of the temp dir (the shells' `$PWD` will use it).
    pub root: PathBuf,
    pub home: PathBuf,
    pub escsh_home: PathBuf,
    pub work: PathBuf,
    pub bin_dir: PathBuf,
}

/// Single-quotes `s` for /bin/sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub fn real_escsh() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_escsh"))
}

impl Default for Kit {
    fn default() -> Self {
        Kit::new()
    }
}

impl Kit {
    pub fn new() -> Kit {
        let tmp = tempfile::Builder::new()
            .prefix("escsh-shell-")
            .tempdir()
            .unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let home = root.join("home");
        let escsh_home = root.join("escsh");
        let work = root.join("work");
        let bin_dir = root.join("bin");
        for d in [&home, &escsh_home, &work, &bin_dir] {
            fs::create_dir_all(d).unwrap();
        }
        // A symlink: the hook still embeds the real path (current_exe).
        std::os::unix::fs::symlink(real_escsh(), bin_dir.join("escsh")).unwrap();
        Kit {
            tmp,
            root,
            home,
            escsh_home,
            work,
            bin_dir,
        }
    }

    /// Where the local store keeps `reference` (`p/env` or `o/p/env`).
    pub fn definition_path(&self, reference: &str) -> PathBuf {
        let parts: Vec<&str> = reference.split('/').collect();
        let (org, project, env) = match parts.as_slice() {
            [p, e] => ("local", *p, *e),
            [o, p, e] => (*o, *p, *e),
            _ => panic!("bad reference {reference}"),
        };
        self.escsh_home
            .join("environments")
            .join(org)
            .join(project)
            .join(format!("{env}.yaml"))
    }

    /// Writes a definition into the store.
    pub fn define(&self, reference: &str, yaml: &str) -> PathBuf {
        let path = self.definition_path(reference);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, yaml).unwrap();
        path
    }

    /// Defines `reference` with these plain environment variables.
    pub fn define_vars(&self, reference: &str, vars: &[(&str, &str)]) -> PathBuf {
        let mut yaml = String::from("values:\n  environmentVariables:\n");
        for (k, v) in vars {
            yaml.push_str(&format!("    {k}: {}\n", serde_json::to_string(v).unwrap()));
        }
        self.define(reference, &yaml)
    }

    /// Creates `WORK/rel` with an `.escrc` holding `escrc`.
    pub fn project(&self, rel: &str, escrc: &str) -> PathBuf {
        let dir = self.work.join(rel);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(".escrc"), escrc).unwrap();
        dir
    }

    /// Runs the real escsh (as from another terminal) in `dir`.
    pub fn escsh(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(real_escsh())
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("ESCSH_HOME", &self.escsh_home)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `escsh allow` in `dir`, asserting it worked.
    pub fn allow(&self, dir: &Path) {
        let o = self.escsh(dir, &["allow"]);
        assert!(
            o.status.success(),
            "allow: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    fn base_env(&self, cmd: &mut Command) {
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin_dir.display());
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("ESCSH_HOME", &self.escsh_home)
            .env("TERM", "dumb")
            .env("LC_ALL", "C.UTF-8")
            .env("WORK", &self.work)
            .current_dir(&self.work);
    }

    /// Runs `script` in an interactive `sh` (an `exit` is appended), or
    /// `None` when the shell is missing (see [`available`]).
    pub fn run(&self, sh: Sh, script: &str) -> Option<Session> {
        self.run_with(sh, script, &[])
    }

    /// The same with extra environment variables for the shell.
    pub fn run_with(&self, sh: Sh, script: &str, env: &[(&str, &str)]) -> Option<Session> {
        self.run_inner(sh, script, env, None)
    }

    /// Runs the session under `strace -f` (following every process the
    /// shell, the hook and escsh start, detached ones included); the trace
    /// is in [`Session::trace`]. `None` when the shell or strace is missing.
    pub fn run_traced(&self, sh: Sh, script: &str, env: &[(&str, &str)]) -> Option<Session> {
        if !tools::require_with("strace", &["-V"], "apt-get install strace") {
            return None;
        }
        let log = self.root.join("strace.log");
        let session = self.run_inner(sh, script, env, Some(&log));
        session.map(|mut s| {
            s.trace = trace::Trace::parse(&fs::read_to_string(&log).unwrap_or_default());
            s
        })
    }

    fn run_inner(
        &self,
        sh: Sh,
        script: &str,
        env: &[(&str, &str)],
        trace_to: Option<&Path>,
    ) -> Option<Session> {
        if !available(sh) {
            return None;
        }
        // Processes and execs, plus the shell's own opens (the marks).
        let strace: Vec<String> = trace_to
            .map(|log| {
                [
                    "strace",
                    "-f",
                    "-qq",
                    "-s",
                    "512",
                    "-e",
                    "signal=none",
                    "-e",
                    "trace=execve,execveat,fork,vfork,clone,clone3,open,openat",
                    "-o",
                    log.to_str().unwrap(),
                ]
                .map(String::from)
                .to_vec()
            })
            .unwrap_or_default();
        let strace_words = strace
            .iter()
            .map(|w| sh_quote(w))
            .collect::<Vec<_>>()
            .join(" ");
        let script = match sh {
            // Prompts go to stdout: none, so printed lines start a line.
            Sh::Tcsh => format!("set prompt = '' prompt2 = '' prompt3 = ''\n{script}\nexit\n"),
            // `:` as in the other shells' scripts, without a process.
            Sh::Xonsh => format!("aliases[':'] = lambda args: 0\n{script}\nexit\n"),
            _ => format!("{script}\nexit\n"),
        };
        let out_file = self.root.join("fish.out");
        let err_file = self.root.join("fish.err");
        if matches!(sh, Sh::Nu | Sh::Elvish) {
            return Some(self.run_on_pty(sh, &script, env, &strace));
        }
        let mut cmd = match sh {
            Sh::Bash | Sh::Zsh => {
                let args: &[&str] = if sh == Sh::Bash {
                    &["bash", "--norc", "--noprofile", "-i"]
                } else {
                    &["zsh", "-f", "-i"]
                };
                let words: Vec<&str> = strace
                    .iter()
                    .map(String::as_str)
                    .chain(args.iter().copied())
                    .collect();
                let mut c = Command::new(words[0]);
                c.args(&words[1..]);
                c
            }
            Sh::Tcsh => {
                let words: Vec<&str> = strace
                    .iter()
                    .map(String::as_str)
                    .chain(["tcsh", "-f", "-i"])
                    .collect();
                let mut c = Command::new(words[0]);
                c.args(&words[1..]);
                c
            }
            Sh::Fish | Sh::Xonsh | Sh::Nu | Sh::Elvish => {
                let shell = if sh == Sh::Fish {
                    "fish --no-config -i"
                } else {
                    "xonsh -i"
                };
                let inner = format!(
                    "exec {strace_words} {shell} >{} 2>{}",
                    sh_quote(out_file.to_str().unwrap()),
                    sh_quote(err_file.to_str().unwrap())
                );
                let mut c = Command::new("script");
                c.args(["-qec", &inner, "/dev/null"]);
                c
            }
        };
        self.base_env(&mut cmd);
        if sh == Sh::Xonsh {
            let rc = self.root.join("xonshrc");
            fs::write(&rc, "").unwrap();
            cmd.env("XONSHRC", &rc)
                .env("XONSHRC_DIR", self.root.join("no-xonshrc.d"));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || {
            // The shell may exit before reading everything; that is fine.
            let _ = stdin.write_all(script.as_bytes());
        });
        let out = wait_bounded(child, sh);
        feeder.join().unwrap();
        let (stdout, stderr) = match sh {
            Sh::Fish | Sh::Xonsh => {
                let raw = fs::read(&out_file).unwrap_or_default();
                let raw = String::from_utf8_lossy(&raw).into_owned();
                // Keep what commands printed; drop the line editor's redraws
                // (they carry carriage returns or fish's ⏎ mark), except a
                // tagged line printed right after a redraw.
                let lines: Vec<&str> = raw
                    .split('\n')
                    .filter_map(|l| match l.rsplit_once('\r') {
                        Some((_, last)) if last.starts_with('@') => Some(last),
                        Some(_) => None,
                        None => Some(l),
                    })
                    .filter(|l| !l.contains('\u{23ce}') && !l.is_empty())
                    .collect();
                let err = fs::read(&err_file).unwrap_or_default();
                let _ = fs::remove_file(&out_file);
                let _ = fs::remove_file(&err_file);
                (
                    lines.join("\n") + "\n",
                    String::from_utf8_lossy(&err).into_owned(),
                )
            }
            // tcsh prints its default prompt before reading the line that
            // empties it.
            Sh::Tcsh => (
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(|l| match l.strip_prefix("# ").or(l.strip_prefix("> ")) {
                        Some(rest) if rest.starts_with('@') => rest,
                        _ => l,
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n",
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
            _ => (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
        };
        let session = Session {
            sh,
            stdout,
            stderr,
            pty: String::from_utf8_lossy(&out.stdout).into_owned(),
            trace: trace::Trace::default(),
        };
        if std::env::var_os("SHELLKIT_DUMP").is_some() {
            eprintln!("{}", session.dump());
        }
        Some(session)
    }

    /// A nushell or elvish session on a terminal that answers (see [`pty`]).
    fn run_on_pty(&self, sh: Sh, script: &str, env: &[(&str, &str)], strace: &[String]) -> Session {
        let args: &[&str] = match sh {
            Sh::Nu => &["nu", "--no-config-file", "-i"],
            _ => &["elvish", "-norc"],
        };
        let words: Vec<&str> = strace
            .iter()
            .map(String::as_str)
            .chain(args.iter().copied())
            .collect();
        let mut cmd = Command::new(words[0]);
        cmd.args(&words[1..]);
        self.base_env(&mut cmd);
        // elvish's history daemon: its socket in a directory of this test's.
        cmd.env("XDG_RUNTIME_DIR", &self.home);
        for (k, v) in env {
            cmd.env(k, v);
        }
        // The scenarios' POSIX no-op and pause, in this shell's words.
        let script: String = script
            .lines()
            .map(|l| match (sh, l) {
                (Sh::Nu, ":") => "ignore".to_string(),
                (Sh::Elvish, ":") => "nop".to_string(),
                (Sh::Nu, l) if l.starts_with("sleep ") => format!("{l}sec"),
                // `cd "$VAR"`: neither expands `$` inside double quotes.
                (_, l) if l.starts_with("cd \"$") && l.ends_with('"') => {
                    let var = &l[5..l.len() - 1];
                    match sh {
                        Sh::Nu => format!("cd $env.{var}"),
                        _ => format!("cd $E:{var}"),
                    }
                }
                _ => l.to_string(),
            })
            .map(|l| l + "\n")
            .collect();
        let script = script.as_str();
        let file = self.root.join(format!("{}.side", sh.name()));
        let side = fs::File::create(&file).unwrap();
        let run = if sh == Sh::Nu {
            pty::run(cmd, script, None, Some(side))
        } else {
            pty::run(cmd, script, Some(side), None)
        };
        let side = String::from_utf8_lossy(&fs::read(&file).unwrap_or_default()).into_owned();
        let _ = fs::remove_file(&file);
        let screen = pty::plain_lines(&run.transcript)
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        let (stdout, stderr) = if sh == Sh::Nu {
            (screen, side)
        } else {
            (side, screen)
        };
        let session = Session {
            sh,
            stdout,
            stderr,
            pty: String::from_utf8_lossy(&run.transcript).into_owned(),
            trace: trace::Trace::default(),
        };
        if std::env::var_os("SHELLKIT_DUMP").is_some() {
            eprintln!("{}", session.dump());
        }
        session
    }

    /// Copies (hard-links when possible) the binary to `dir/escsh`, for
    /// paths that need quoting.
    pub fn copy_binary_to(&self, dir: &Path) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        let target = dir.join("escsh");
        if fs::hard_link(real_escsh(), &target).is_err() {
            fs::copy(real_escsh(), &target).unwrap();
        }
        target
    }
}

/// Waits for the shell; a shell that hangs (waiting for input that never
/// comes) is killed after two minutes so the test fails instead of hanging.
fn wait_bounded(mut child: Child, sh: Sh) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{} did not exit\nstdout:\n{}\nstderr:\n{}",
                sh.name(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a shell session printed.
#[derive(Debug)]
pub struct Session {
    pub sh: Sh,
    /// What commands printed (for fish, without the line editor's redraws).
    pub stdout: String,
    /// Prompts, hook messages, traces (bash and zsh also echo the input
    /// lines here).
    pub stderr: String,
    /// fish: the terminal transcript, for failure messages.
    pub pty: String,
    /// What `strace` saw, for sessions run by [`Kit::run_traced`].
    pub trace: trace::Trace,
}

impl Session {
    /// What `show(tag, ...)` printed (without the `@TAG ` prefix); panics
    /// when the tag was printed zero or several times.
    pub fn line(&self, tag: &str) -> String {
        let prefix = format!("@{tag} ");
        let found: Vec<&str> = self
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "@{tag} printed {} times\n{}",
            found.len(),
            self.dump()
        );
        found[0].to_string()
    }

    /// How many lines of stderr contain `needle`.
    pub fn stderr_count(&self, needle: &str) -> usize {
        self.stderr.lines().filter(|l| l.contains(needle)).count()
    }

    pub fn dump(&self) -> String {
        format!(
            "--- {} stdout:\n{}\n--- stderr:\n{}",
            self.sh.name(),
            self.stdout,
            self.stderr,
        )
    }
}

/// One `#[test]` per scenario every shell must pass, for the shell `$sh`.
#[macro_export]
macro_rules! shared_scenarios {
    ($sh:expr) => {
        #[test]
        fn allow_and_reload_from_another_process() {
            shellkit::scenarios::allow_and_reload_from_another_process($sh);
        }
        #[test]
        fn bad_name_is_refused() {
            shellkit::scenarios::bad_name_is_refused($sh);
        }
        #[test]
        fn binary_path_needing_quotes() {
            shellkit::scenarios::binary_path_needing_quotes($sh);
        }
        #[test]
        fn definition_edit_is_picked_up() {
            shellkit::scenarios::definition_edit_is_picked_up($sh);
        }
        #[test]
        fn deny_unloads_and_survives_edits() {
            shellkit::scenarios::deny_unloads_and_survives_edits($sh);
        }
        #[test]
        fn edit_blocks_until_allowed_again() {
            shellkit::scenarios::edit_blocks_until_allowed_again($sh);
        }
        #[test]
        fn echo_modes_show_no_secret() {
            shellkit::guards::echo_modes_show_no_secret($sh);
        }
        #[test]
        fn file_target_is_trusted_by_content() {
            shellkit::guards::file_target_is_trusted_by_content($sh);
        }
        #[test]
        fn status_json_describes_the_shell() {
            shellkit::guards::status_json_describes_the_shell($sh);
        }
        #[test]
        fn enter_and_leave_restore() {
            shellkit::scenarios::enter_and_leave_restore($sh);
        }
        #[test]
        fn escrc_created_and_removed_in_place() {
            shellkit::scenarios::escrc_created_and_removed_in_place($sh);
        }
        #[test]
        fn escrc_error_is_reported_once() {
            shellkit::scenarios::escrc_error_is_reported_once($sh);
        }
        #[test]
        fn nested_and_switching() {
            shellkit::scenarios::nested_and_switching($sh);
        }
        #[test]
        fn no_secret_in_shell_variables() {
            shellkit::scenarios::no_secret_in_shell_variables($sh);
        }
        #[test]
        fn not_allowed_until_allow() {
            shellkit::scenarios::not_allowed_until_allow($sh);
        }
        #[test]
        fn odd_previous_values_restore() {
            shellkit::scenarios::odd_previous_values_restore($sh);
        }
        #[test]
        fn project_path_needing_quotes() {
            shellkit::scenarios::project_path_needing_quotes($sh);
        }
        #[test]
        fn spawn_count_right_after_loading() {
            shellkit::scenarios::spawn_count_right_after_loading($sh);
        }
        #[test]
        fn spawn_count_settled() {
            shellkit::scenarios::spawn_count_settled($sh);
        }
        #[test]
        fn status_is_preserved() {
            shellkit::scenarios::status_is_preserved($sh);
        }
        #[test]
        fn trace_shows_no_secret() {
            shellkit::scenarios::trace_shows_no_secret($sh);
        }
        #[test]
        fn user_change_is_left_alone() {
            shellkit::scenarios::user_change_is_left_alone($sh);
        }
        #[test]
        fn values_round_trip_through_the_hook() {
            shellkit::scenarios::values_round_trip_through_the_hook($sh);
        }
    };
}
