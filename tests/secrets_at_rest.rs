//! Secrets encrypted at rest (issue 10), with the real binary and private
//! homes: no secret byte in the clear in any file escsh writes, a second
//! user's clear error until recipients and rekey, `env edit` keeping
//! unchanged ciphertext and never leaving plaintext behind, and the hook
//! and `run` on an encrypted environment in bash, zsh and fish.

mod common;
mod shellkit;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{assert_code, mode, stderr, stdout, Home};
use shellkit::{Kit, Sh};

fn canary(tag: &str) -> String {
    shellkit::scenarios::secret_value(tag)
}

/// Every regular file below `dir`.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            } else if meta.is_file() {
                out.push(entry.path());
            }
        }
    }
    out
}

/// The files below `dir` holding `needle`, as bytes anywhere in them.
fn holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    files_below(dir)
        .into_iter()
        .filter(|p| {
            let bytes = fs::read(p).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .collect()
}

fn init_from(home: &Home, reference: &str, yaml: &str) {
    let src = home.path().join("input.yaml");
    fs::write(&src, yaml).unwrap();
    let o = home.run(["env", "init", reference, "--file", src.to_str().unwrap()]);
    assert_code(&o, 0);
    fs::remove_file(src).unwrap();
}

fn public_key(home: &Home) -> String {
    let o = home.run(["key", "show"]);
    assert_code(&o, 0);
    let key = stdout(&o).trim().to_string();
    assert!(key.starts_with("age1"), "{key}");
    key
}

#[test]
fn saved_definitions_hold_no_secret_in_the_clear() {
    let home = Home::new();
    let (a, b) = (canary("init"), canary("set"));
    init_from(
        &home,
        "acme/app/dev",
        &format!(
            "# a comment of mine\nvalues:\n  db:\n    password:\n      fn::secret: {a}  # trailing\n    user: admin\n  environmentVariables:\n    PW: ${{db.password}}\n"
        ),
    );
    let o = home.run(["env", "set", "--secret", "acme/app/dev", "api.token", &b]);
    assert_code(&o, 0);
    for c in [&a, &b] {
        assert!(
            holding(home.path(), c).is_empty(),
            "{c} in the clear in {:?}",
            holding(home.path(), c)
        );
        assert!(!stderr(&o).contains(c.as_str()));
    }
    let text = home.read_env("acme/app/dev").unwrap();
    assert_eq!(text.matches("ciphertext: ").count(), 2, "{text}");

    let o = home.run(["open", "acme/app/dev"]);
    assert_code(&o, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["db"]["password"], a.as_str());
    assert_eq!(v["api"]["token"], b.as_str());
    assert_eq!(v["environmentVariables"]["PW"], a.as_str());

    let o = home.run(["env", "get", "acme/app/dev"]);
    assert_code(&o, 0);
    assert!(!stdout(&o).contains(&a) && stdout(&o).contains("[secret]"));
    let o = home.run(["env", "get", "acme/app/dev", "--show-secrets"]);
    assert!(stdout(&o).contains(&a), "{}", stdout(&o));

    // The identity: created on first need, private, its key shown.
    let identity = home.path().join("age-identity.txt");
    assert_eq!(mode(&identity), 0o600);
    let key = public_key(&home);
    assert!(fs::read_to_string(&identity).unwrap().contains(&key));
    // Nothing escsh wrote holds either secret, the cache included.
    for c in [&a, &b] {
        assert!(holding(home.path(), c).is_empty(), "{c}");
    }
}

#[test]
fn hand_written_plaintext_evaluates_and_encrypt_converts_in_place() {
    let home = Home::new();
    let s = canary("hand");
    let original = format!(
        "# top comment\nvalues:\n  # about the list\n  list:\n    - fn::secret: \"{s}\"\n    - plain\n  block:\n    fn::secret: |\n      {s}\n  z: 1 # last\n"
    );
    let path = home.write_env("acme/app/hand", &original);
    let o = home.run(["open", "acme/app/hand"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains(&s));

    let o = home.run(["env", "encrypt", "acme/app/hand"]);
    assert_code(&o, 0);
    assert!(
        stderr(&o).contains("encrypted 2 secret(s)"),
        "{}",
        stderr(&o)
    );
    let text = fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&s), "{text}");
    // Everything but the secrets is as written.
    for kept in [
        "# top comment\n",
        "  # about the list\n",
        "    - plain\n",
        "  z: 1 # last\n",
    ] {
        assert!(text.contains(kept), "{kept:?} lost:\n{text}");
    }
    let o = home.run(["open", "acme/app/hand"]);
    assert_code(&o, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["list"][0], s.as_str());
    assert_eq!(v["block"], format!("{s}\n").as_str());
    // Again: nothing left to do, nothing changed.
    let o = home.run(["env", "encrypt", "acme/app/hand"]);
    assert_code(&o, 0);
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn project_file_encrypts_and_rekeys_in_place() {
    let home = Home::new();
    let s = canary("file");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.yaml");
    fs::write(&file, format!("values:\n  k: {{fn::secret: {s}}} # mine\n")).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let o = home.run(["env", "encrypt", "--file", file.to_str().unwrap()]);
    assert_code(&o, 0);
    assert!(
        !stderr(&o).contains("other key"),
        "no one else to name: {}",
        stderr(&o)
    );
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(&s) && text.ends_with("}} # mine\n"),
        "{text}"
    );
    assert_eq!(mode(&file), 0o644, "a project's file keeps its mode");
    assert_eq!(mode(dir.path()), 0o755, "and its directory too");

    // A recipients file beside it: rekey encrypts for both keys.
    let other = Home::new();
    let theirs = public_key(&other);
    fs::write(dir.path().join("recipients"), format!("# bob\n{theirs}\n")).unwrap();
    let o = other.run(["env", "rekey", "--file", file.to_str().unwrap()]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains(&public_key(&home)), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        text,
        "nothing rewritten"
    );
    let o = home.run(["env", "rekey", "--file", file.to_str().unwrap()]);
    assert_code(&o, 0);
    // A recipients file may come with a clone: whoever it adds is named.
    let err = stderr(&o);
    assert!(
        err.contains("1 other key(s)") && err.contains(&format!("  {theirs}\n")),
        "{err}"
    );
    assert!(err.contains("recipients"), "{err}");
    let rekeyed = fs::read_to_string(&file).unwrap();
    assert_ne!(rekeyed, text);
    let o = other.run(["env", "rekey", "--file", file.to_str().unwrap()]);
    assert_code(&o, 0);
}

#[test]
fn another_user_gets_a_clear_error_until_added_and_rekeyed() {
    let alice = Home::new();
    let bob = Home::new();
    let s = canary("shared");
    init_from(
        &alice,
        "acme/app/dev",
        &format!("values:\n  plain: 1\n  db:\n    password:\n      fn::secret: {s}\n"),
    );
    let alice_key = public_key(&alice);
    let bob_key = public_key(&bob);
    let shared = alice.read_env("acme/app/dev").unwrap();
    let bob_path = bob.write_env("acme/app/dev", &shared);

    let o = bob.run(["open", "acme/app/dev"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("acme/app/dev"), "{err}");
    assert!(err.contains("db.password"), "{err}");
    assert!(err.contains(&alice_key), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(fs::read_to_string(&bob_path).unwrap(), shared);
    // rekey cannot either, and changes nothing.
    let o = bob.run(["env", "rekey", "acme/app/dev"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("values.db.password"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&bob_path).unwrap(), shared);

    // Alice adds Bob to the org's recipients and rekeys.
    fs::write(
        alice.path().join("environments/acme/recipients"),
        format!("# the team\n{bob_key} # bob\n"),
    )
    .unwrap();
    let o = alice.run(["env", "rekey", "acme/app/dev"]);
    assert_code(&o, 0);
    assert!(
        stderr(&o).contains(&format!("  {bob_key}\n")),
        "{}",
        stderr(&o)
    );
    // Every save that encrypts for the org names Bob, not just rekey.
    let o = alice.run(["env", "set", "--secret", "acme/app/dev", "api", "x"]);
    assert_code(&o, 0);
    assert!(
        stderr(&o).contains("1 other key(s)") && stderr(&o).contains(&bob_key),
        "{}",
        stderr(&o)
    );
    bob.write_env("acme/app/dev", &alice.read_env("acme/app/dev").unwrap());
    let o = bob.run(["open", "acme/app/dev"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains(&s));
    let o = alice.run(["open", "acme/app/dev"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains(&s));
    // Saving without a new secret encrypts nothing, so names no one.
    let o = alice.run(["env", "set", "acme/app/dev", "plain", "2"]);
    assert_code(&o, 0);
    assert!(!stderr(&o).contains("other key"), "{}", stderr(&o));
}

#[test]
fn corrupt_ciphertext_is_an_error_not_a_panic() {
    let home = Home::new();
    init_from(
        &home,
        "acme/app/dev",
        &format!("values:\n  a: {{fn::secret: {}}}\n", canary("c")),
    );
    let text = home.read_env("acme/app/dev").unwrap();
    let at = text.find("ciphertext: ").unwrap() + "ciphertext: ".len();
    // Damage the payload inside a valid envelope: decode, flip, re-encode.
    let b64 = &text[at..text[at..].find('}').unwrap() + at];
    let damaged_envelope = {
        use std::process::Command;
        let out = Command::new("python3")
            .args([
                "-c",
                "import base64,sys,zlib\nb=bytearray(base64.b64decode(sys.argv[1]))\nb[-10]^=1\nbody=bytes(b[:-4])\nprint(base64.b64encode(body+zlib.crc32(body).to_bytes(4,'big')).decode())",
                b64,
            ])
            .output();
        out.ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string())
    };
    let mut cases = vec![text.replacen(b64, &b64[..b64.len() - 8], 1)];
    cases.extend(damaged_envelope.map(|d| text.replacen(b64, &d, 1)));
    for damaged in cases {
        let path = home.write_env("acme/app/dev", &damaged);
        let o = home.run(["open", "acme/app/dev"]);
        assert_code(&o, 2);
        let err = stderr(&o);
        assert!(err.contains("(at a)") || err.contains("values.a"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), damaged);
    }
}

#[test]
fn identity_file_from_the_variable() {
    let home = Home::new();
    let key_show = |file: &Path| {
        home.cmd()
            .args(["key", "show"])
            .env("ESCSH_AGE_IDENTITY_FILE", file)
            .output()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys").join("me.txt");
    let o = key_show(&file);
    assert_code(&o, 0);
    assert_eq!(mode(&file), 0o600);
    assert!(fs::read_to_string(&file)
        .unwrap()
        .contains(stdout(&o).trim()));
    assert!(!home.path().join("age-identity.txt").exists());
    // One others may read is refused, and named.
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let o = key_show(&file);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
}

/// An editor script: `body` runs with the file as `$1`.
fn editor(home: &Home, body: &str) -> PathBuf {
    let path = home.path().join("editor.sh");
    fs::write(&path, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `escsh env edit acme/app/dev` with `editor` as $EDITOR.
fn edit_with(home: &Home, editor: &Path) -> std::process::Output {
    home.cmd()
        .args(["env", "edit", "acme/app/dev"])
        .env("EDITOR", editor)
        .output()
        .unwrap()
}

/// The `ciphertext: ...` text of each secret, in order.
fn ciphertexts(text: &str) -> Vec<String> {
    text.match_indices("ciphertext: ")
        .map(|(i, _)| {
            let rest = &text[i..];
            rest[..rest.find(['}', '\n']).unwrap()].to_string()
        })
        .collect()
}

#[test]
fn edit_round_trip_keeps_unchanged_ciphertext() {
    let home = Home::new();
    let (keep, change, new) = (canary("keep"), canary("change"), canary("new"));
    init_from(
        &home,
        "acme/app/dev",
        &format!(
            "values:\n  # note\n  a:\n    fn::secret: {keep}\n  b: {{fn::secret: {change}}}\n  n: 1\n"
        ),
    );
    let before = home.read_env("acme/app/dev").unwrap();
    let seen = home.path().join("seen");
    let ed = editor(
        &home,
        &format!(
            "stat -c '%a %n' \"$1\" > {seen}\ngrep -c '{keep}' \"$1\" >> {seen}\nsed -i 's/{change}/{new}/; s/n: 1/n: 2/' \"$1\"",
            seen = seen.display()
        ),
    );
    let o = edit_with(&home, &ed);
    assert_code(&o, 0);
    let seen = fs::read_to_string(&seen).unwrap();
    let mut lines = seen.lines();
    let (file_mode, copy) = lines.next().unwrap().split_once(' ').unwrap();
    assert_eq!(file_mode, "600", "the plaintext copy is private");
    assert_eq!(lines.next(), Some("1"), "the editor sees plaintext");
    assert!(!Path::new(copy).exists(), "the copy is removed");
    assert!(!Path::new(copy).parent().unwrap().exists());

    let after = home.read_env("acme/app/dev").unwrap();
    let (old, now) = (ciphertexts(&before), ciphertexts(&after));
    assert_eq!(now.len(), 2);
    assert_eq!(old[0], now[0], "unchanged secret, same bytes");
    assert_ne!(old[1], now[1]);
    assert!(
        after.contains("  # note\n") && after.contains("n: 2"),
        "{after}"
    );
    for c in [&keep, &change, &new] {
        let found = holding(home.path(), c);
        assert!(found == [ed.clone()], "{c} in {found:?}");
    }
    let o = home.run(["open", "acme/app/dev"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["a"], keep.as_str());
    assert_eq!(v["b"], new.as_str());

    // An edit that changes nothing leaves the file as it was.
    let ed = editor(&home, "true");
    let o = edit_with(&home, &ed);
    assert_code(&o, 0);
    assert_eq!(home.read_env("acme/app/dev").unwrap(), after);
}

fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(s) = fs::read_to_string(path) {
            if s.ends_with('\n') {
                return s;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The editor killed, or escsh terminated, mid-edit: no plaintext file is
/// left anywhere escsh writes, and the definition is unchanged.
#[test]
fn an_interrupted_edit_leaves_no_plaintext() {
    for victim in ["editor", "escsh"] {
        let home = Home::new();
        let s = canary("kill");
        init_from(
            &home,
            "acme/app/dev",
            &format!("values:\n  a:\n    fn::secret: {s}\n"),
        );
        let before = home.read_env("acme/app/dev").unwrap();
        let marker = home.path().join("pid");
        let ed = editor(
            &home,
            &format!(
                "echo \"$$ $1\" > {}.tmp && mv {0}.tmp {0}\nexec sleep 30",
                marker.display()
            ),
        );
        let child = home
            .cmd()
            .args(["env", "edit", "acme/app/dev"])
            .env("EDITOR", &ed)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let line = wait_for(&marker);
        let (pid, copy) = line.trim().split_once(' ').unwrap();
        assert!(fs::read_to_string(copy).unwrap().contains(&s));
        let (target, signal) = match victim {
            "editor" => (pid.parse::<i32>().unwrap(), libc::SIGKILL),
            _ => (child.id() as i32, libc::SIGTERM),
        };
        // SAFETY: signalling a process this test started.
        unsafe { libc::kill(target, signal) };
        let o = child.wait_with_output().unwrap();
        assert!(!o.status.success(), "{victim}");
        assert!(!Path::new(copy).exists(), "{victim}: {copy} left behind");
        assert!(holding(home.path(), &s).is_empty(), "{victim}");
        assert_eq!(home.read_env("acme/app/dev").unwrap(), before);
    }
}

fn hook_and_run(sh: Sh) {
    if !shellkit::available(sh) {
        return;
    }
    let kit = Kit::new();
    let secret = canary("hook");
    let o = kit.escsh(&kit.work, &["env", "init", "app/dev"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = kit.escsh(
        &kit.work,
        &[
            "env",
            "set",
            "--secret",
            "app/dev",
            "environmentVariables.SEC",
            &secret,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let definition = fs::read_to_string(kit.definition_path("app/dev")).unwrap();
    assert!(
        !definition.contains(&secret) && definition.contains("ciphertext"),
        "{definition}"
    );
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    // A project's own definition, encrypted in place, then allowed.
    let own = canary("own");
    let fileproj = kit.project("fileproj", "file: ./env.yaml\n");
    let def = fileproj.join("env.yaml");
    fs::write(
        &def,
        format!("values:\n  environmentVariables:\n    OWN:\n      fn::secret: {own}\n"),
    )
    .unwrap();
    let o = kit.escsh(&fileproj, &["env", "encrypt", "--file", "env.yaml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!fs::read_to_string(&def).unwrap().contains(&own));
    kit.allow(&fileproj);
    let run_check =
        format!("escsh run app/dev -- sh -c 'test \"$SEC\" = {secret} && echo @run ok'");
    let Some(s) = kit.run(
        sh,
        &[
            sh.hook_line().to_string(),
            "cd proj".into(),
            sh.show("in", &["SEC"]),
            "cd ..".into(),
            sh.show("out", &["SEC"]),
            "cd fileproj".into(),
            sh.show("file", &["OWN"]),
            "cd ..".into(),
            run_check,
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(s.line("in"), format!("SEC={secret}"), "{}", s.dump());
    assert_eq!(s.line("out"), "SEC=<unset>", "{}", s.dump());
    assert_eq!(s.line("run"), "ok", "{}", s.dump());
    assert_eq!(s.line("file"), format!("OWN={own}"), "{}", s.dump());
    // The hook's state and records: the secret only in the private cache.
    let cache = kit.escsh_home.join("run").join("opened");
    let leaks: Vec<PathBuf> = [&secret, &own]
        .iter()
        .flat_map(|c| holding(&kit.escsh_home, c))
        .filter(|p| !p.starts_with(&cache))
        .collect();
    assert!(leaks.is_empty(), "{leaks:?}\n{}", s.dump());
}

#[test]
fn hook_and_run_in_bash() {
    hook_and_run(Sh::Bash);
}

#[test]
fn hook_and_run_in_zsh() {
    hook_and_run(Sh::Zsh);
}

#[test]
fn hook_and_run_in_fish() {
    hook_and_run(Sh::Fish);
}
