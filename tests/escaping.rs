//! Property test of the quoting in `escsh::shell`: batches of random byte
//! Property test of the quoting in `escsh::shell`: batches of random byte
//! strings (no NUL) are rendered as the hook renders a change (statements
//! for bash, zsh, fish, elvish, xonsh and tcsh to eval; JSON that nushell
//! loads with `load-env`, as its hook does), applied by each real shell
//! under `LC_ALL=C` and `LC_ALL=C.UTF-8`, and a child process (`env -0`)
//! must receive exactly the same bytes. Nothing in a value may run: a
//! `pwned` file must never appear. A value a shell cannot hold exactly must
//! be refused and never reach the child: nushell holds text only, and tcsh
//! (which reads its statements the way its hook does, from a command
//! substitution joined into one line) cannot hold bytes that are not UTF-8
//! in a UTF-8 locale.

mod shellkit;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use escsh::shell::{Op, Shell};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use shellkit::Sh;

/// Bytes that matter to some shell's parser, weighted up.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => prop::sample::select(b"'\"\\$`!{}()[]*?~#;&|<> %^=-".to_vec()),
        2 => prop::sample::select(b"\n\r\t".to_vec()),
        2 => 1u8..0x20,
        1 => Just(0x7fu8),
        3 => 0x80u8..=0xff,
        4 => 0x20u8..0x7f,
    ]
}

/// A value: random bytes, sometimes with valid UTF-8 text mixed in.
fn value() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => byte().prop_map(|b| vec![b]),
        1 => prop::sample::select(vec!["é", "✓", "🚀", "\u{a0}", "\u{2028}", "x\u{301}"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::sample::select(vec!["\\x41", "\\X41", "\\'", "'\\''", "$'", "\\u0041", "%s", "$(id)"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("escsh-escaping-")
        .tempdir()
        .unwrap()
}

/// Values every batch carries: a trailing backslash (which would swallow
/// a closing quote) right before attempts to break out and run `touch`.
fn hostile(dir: &Path) -> Vec<Vec<u8>> {
    let pwned = dir.join("pwned");
    let p = pwned.display();
    vec![
        b"ends with a backslash\\".to_vec(),
        format!("; touch {p} #").into_bytes(),
        format!("'; touch {p} #").into_bytes(),
        format!("\\'; touch {p}; echo '").into_bytes(),
        format!("\"; touch {p} #").into_bytes(),
        format!("$(touch {p})`touch {p}`").into_bytes(),
        b"\\".to_vec(),
    ]
}

fn shell_of(sh: Sh, locale: &str) -> Shell {
    match sh {
        Sh::Bash => Shell::Bash,
        Sh::Zsh => Shell::Zsh,
        Sh::Fish => Shell::Fish,
        Sh::Nu => Shell::Nu,
        Sh::Elvish => Shell::Elvish,
        Sh::Xonsh => Shell::Xonsh,
        Sh::Tcsh => Shell::Tcsh {
            utf8: locale.contains("UTF-8"),
        },
    }
}

/// Evals `script` in `sh` under `locale`, then returns the environment a
/// child sees.
fn child_env(
    sh: Sh,
    locale: &str,
    script: &str,
    dir: &Path,
) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, String> {
    let file = dir.join("statements");
    std::fs::write(&file, format!("{script}\n")).unwrap();
    let env_out = dir.join("env.bin");
    let _ = std::fs::remove_file(&env_out);
    let script = format!("{script}\nexec env -0\n");
    let mut cmd = match sh {
        Sh::Xonsh => {
            std::fs::write(
                &file,
                format!(
                    "{}\nenv -0\n",
                    script.trim_end().trim_end_matches("exec env -0")
                ),
            )
            .unwrap();
            let mut c = Command::new("xonsh");
            c.args(["--no-rc"]).arg(&file);
            c
        }
        // Interactive (history substitution on), reading the statements
        // from a command substitution as the hook does; the prompt goes
        // to stdout, so the environment goes to a file.
        Sh::Tcsh => {
            let mut c = Command::new("tcsh");
            c.args([
                "-f",
                "-c",
                &format!(
                    "eval \"`cat {}`\"; exec env -0 > {}",
                    file.display(),
                    env_out.display()
                ),
            ]);
            c
        }
        Sh::Bash => {
            let mut c = Command::new("bash");
            c.args(["--norc", "--noprofile", "-c", &script]);
            c
        }
        Sh::Zsh => {
            let mut c = Command::new("zsh");
            c.args(["-f", "-c", &script]);
            c
        }
        Sh::Fish => {
            let mut c = Command::new("fish");
            c.args(["--no-config", "-c", &script]);
            c
        }
        Sh::Elvish => {
            let mut c = Command::new("elvish");
            c.args(["-norc", "-c", &script]);
            c
        }
        // What `escsh export nu` prints, applied as the hook applies it.
        Sh::Nu => {
            let file = dir.join("change.json");
            std::fs::write(&file, script.strip_suffix("\nexec env -0\n").unwrap()).unwrap();
            let path = Shell::Nu
                .quote(file.as_os_str().as_encoded_bytes())
                .unwrap();
            let mut c = Command::new("nu");
            c.args([
                "--no-config-file",
                "-c",
                &format!("open --raw {path} | from json | load-env $in.set; ^env -0"),
            ]);
            c
        }
    };
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = cmd
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &home)
        .env("LC_ALL", locale)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(format!(
            "{} exited with {}: {}",
            sh.name(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stdout = if sh == Sh::Tcsh {
        std::fs::read(&env_out).map_err(|e| format!("tcsh wrote no environment: {e}"))?
    } else {
        out.stdout
    };
    let mut env = BTreeMap::new();
    for entry in stdout.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        let eq = entry.iter().position(|&b| b == b'=').unwrap_or(entry.len());
        env.insert(
            entry[..eq].to_vec(),
            entry[(eq + 1).min(entry.len())..].to_vec(),
        );
    }
    Ok(env)
}

fn check_batch(shells: &[Sh], batch: &[Vec<u8>], dir: &Path) -> Result<(), TestCaseError> {
    let values: Vec<Vec<u8>> = hostile(dir)
        .into_iter()
        .chain(batch.iter().cloned())
        .collect();
    for &sh in shells {
        for locale in ["C", "C.UTF-8"] {
            let shell = shell_of(sh, locale);
            // (name, value) of the values this shell must hold exactly, and
            // the names it refused.
            let mut held = Vec::new();
            let mut refused = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let name = format!("ESCAPED_{i}");
                let one = shell.render(&[Op::Set(name.clone(), v.clone())]);
                let cannot =
                    (sh == Sh::Nu && std::str::from_utf8(v).is_err()) || !shell.representable(v);
                match one {
                    Ok(_) if !cannot => held.push((name, v.clone())),
                    Ok(_) => prop_assert!(
                        false,
                        "{} LC_ALL={locale} took {name}, which it cannot hold",
                        sh.name()
                    ),
                    Err(e) => {
                        let said = e.to_string();
                        prop_assert!(
                            cannot && said.contains(&name),
                            "{} LC_ALL={locale} refused a value: {said}",
                            sh.name()
                        );
                        refused.push(name);
                    }
                }
            }
            let ops: Vec<Op> = held
                .iter()
                .map(|(n, v)| Op::Set(n.clone(), v.clone()))
                .collect();
            let script = shell.render(&ops).unwrap();
            // tcsh is given UTF-8 text as is in a UTF-8 locale (see tcsh.rs).
            prop_assert!(
                script.is_ascii() || shell == (Shell::Tcsh { utf8: true }),
                "{} rendered non-ASCII: {script}",
                sh.name()
            );
            let env = child_env(sh, locale, &script, dir)
                .map_err(|e| TestCaseError::fail(format!("{e}\nscript:\n{script}")))?;
            for (name, want) in &held {
                let got = env.get(name.as_bytes());
                prop_assert_eq!(
                    got,
                    Some(want),
                    "{} LC_ALL={}: {} differs\nwant {:?}\ngot  {:?}\nrendered: {}",
                    sh.name(),
                    locale,
                    name,
                    String::from_utf8_lossy(want),
                    got.map(|g| String::from_utf8_lossy(g).into_owned()),
                    script
                );
            }
            for name in &refused {
                prop_assert!(
                    !env.contains_key(name.as_bytes()),
                    "{} LC_ALL={locale}: refused {name} is set",
                    sh.name()
                );
            }
            prop_assert!(
                !dir.join("pwned").exists(),
                "{} LC_ALL={locale} ran code from a value\nscript:\n{script}",
                sh.name()
            );
        }
    }
    Ok(())
}

/// Every shell the hook supports that can be driven here (a missing one
/// is a loud skip, a failure under CI).
fn shells_here() -> Vec<Sh> {
    [
        Sh::Bash,
        Sh::Zsh,
        Sh::Fish,
        Sh::Nu,
        Sh::Elvish,
        Sh::Xonsh,
        Sh::Tcsh,
    ]
    .into_iter()
    .filter(|&sh| shellkit::available(sh))
    .collect()
}

#[test]
fn exported_values_round_trip_in_real_shells() {
    let shells = shells_here();
    if shells.is_empty() {
        return;
    }
    let config = Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let batches = prop::collection::vec(value(), 1..8);
    let dir = scratch();
    let result = runner.run(&batches, |batch| check_batch(&shells, &batch, dir.path()));
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The whole byte range (but NUL) in one value, and each byte alone.
#[test]
fn every_byte_round_trips() {
    let shells = shells_here();
    let mut batch: Vec<Vec<u8>> = vec![(1u8..=255).collect(), (1u8..=255).rev().collect()];
    batch.extend((1u8..=255).map(|b| vec![b]));
    let dir = scratch();
    if let Err(e) = check_batch(&shells, &batch, dir.path()) {
        panic!("{e}");
    }
}

/// Samples that once needed care in the quoting (quotes of each kind,
/// `$'...'` look-alikes, glob and history characters, invalid UTF-8),
/// checked in every shell and locale.
#[test]
fn known_awkward_values_round_trip() {
    let shells = shells_here();
    let batch: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"plain".to_vec(),
        b"it's a \"test\" \\ $HOME `id` $(id) ${x} !! * ? [a] ~ # ;&|<>".to_vec(),
        b"line1\nline2\r\n\ttab\x1b[31mred\x7f".to_vec(),
        "\u{fc}n\u{ef}c\u{f8}d\u{e9} \u{2713} \u{1f680}"
            .as_bytes()
            .to_vec(),
        b"\xff\xfe\x80 not utf8".to_vec(),
        b"'''".to_vec(),
        b"\\'\\x41".to_vec(),
    ];
    let dir = scratch();
    if let Err(e) = check_batch(&shells, &batch, dir.path()) {
        panic!("{e}");
    }
}
