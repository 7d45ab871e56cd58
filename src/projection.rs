//! What an opened environment means to a process: the `environmentVariables`
//! and `files` of its top-level value, as strings, with their secret flags.

use std::path::{Path, PathBuf};

use crate::fsutil;
use crate::lang::{Credential, CredentialPart, Kind, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarKind {
    /// From `environmentVariables`: the value is the variable's value.
    Env,
    /// From `files`: the value is the file's content until materialized.
    File,
}

/// One projected variable. `Debug` hides the value: it may be a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    pub value: String,
    pub secret: bool,
    pub kind: VarKind,
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Var")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

/// The variables of `top`: environment variables sorted by name, then file
/// variables sorted by name. Only scalars count; arrays and objects are
/// dropped, as ESC does.
pub fn project(top: &Value) -> Vec<Var> {
    let mut out = section(top, "environmentVariables", VarKind::Env);
    out.extend(section(top, "files", VarKind::File));
    out
}

fn section(top: &Value, key: &str, kind: VarKind) -> Vec<Var> {
    let Some(node) = top.get(key) else {
        return Vec::new();
    };
    let Some(map) = node.as_object() else {
        return Vec::new();
    };
    // BTreeMap iteration is the sorted order ESC uses.
    map.iter()
        .filter_map(|(name, v)| {
            Some(Var {
                name: name.clone(),
                value: scalar_text(v)?,
                secret: node.secret || v.secret,
                kind,
            })
        })
        .collect()
}

/// ESC's text of a scalar; `None` for arrays and objects.
fn scalar_text(v: &Value) -> Option<String> {
    if v.unknown {
        return Some("[unknown]".to_string());
    }
    match v.kind {
        Kind::Array(_) | Kind::Object(_) => None,
        _ => Some(v.to_text()),
    }
}

/// The credential part `var` carries: an environment variable whose value
/// is exactly one a provider marked (however the definition referenced it).
pub fn credential_part(var: &Var, credentials: &[Credential]) -> Option<CredentialPart> {
    if var.kind != VarKind::Env {
        return None;
    }
    credentials
        .iter()
        .find(|c| !c.value.is_empty() && c.value == var.value)
        .map(|c| c.part)
}

/// Every secret string a process could echo back: secret variable values and
/// file contents. Used for redaction.
pub fn secret_values(vars: &[Var]) -> Vec<String> {
    vars.iter()
        .filter(|v| v.secret)
        .map(|v| v.value.clone())
        .collect()
}

/// The kernel's limit on one `NAME=value` string of an environment,
/// its NUL included (MAX_ARG_STRLEN: 32 pages of 4 KiB).
pub const MAX_VAR_BYTES: usize = 128 * 1024;
/// What escsh lets an environment add in all, well under what `execve`
/// takes with the rest of the environment and the arguments.
pub const MAX_TOTAL_BYTES: usize = 1024 * 1024;
/// The longest path a file variable can become (PATH_MAX).
const MAX_PATH_BYTES: usize = 4096;

/// Variables no process could be started with. Names and sizes only,
/// never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error(
        "environment variable {name} is {size} bytes as NAME=value, over the kernel's limit of \
         {limit} bytes for one variable: every program started with it would fail with \
         \"Argument list too long\"; nothing was applied. Make the value smaller, or move it \
         under `files` so that the variable holds the path of a file with the value"
    )]
    TooLong {
        name: String,
        size: usize,
        limit: usize,
    },
    #[error(
        "the environment's variables are {total} bytes in all (the largest is {largest}), over \
         escsh's limit of {limit} bytes: programs started with them could fail with \"Argument \
         list too long\"; nothing was applied. Move large values under `files`"
    )]
    TooMuch {
        total: usize,
        largest: String,
        limit: usize,
    },
}

/// Refuses variables that would make `execve` fail: one `NAME=value`
/// (NUL included) over [`MAX_VAR_BYTES`], or all of them over
/// [`MAX_TOTAL_BYTES`]. A file variable counts as the path it becomes (at
/// most PATH_MAX bytes, whether or not it is materialized yet), never its
/// content. Called before anything is applied: by `run`, by `open --format
/// shell|dotenv` and by the shell hook.
pub fn check_sizes(vars: &[Var]) -> Result<(), SizeError> {
    let mut total = 0;
    let mut largest: Option<(&str, usize)> = None;
    for var in vars {
        let value = match var.kind {
            VarKind::Env => var.value.len(),
            VarKind::File => var.value.len().min(MAX_PATH_BYTES),
        };
        let size = var.name.len() + 1 + value + 1;
        if size > MAX_VAR_BYTES {
            return Err(SizeError::TooLong {
                name: var.name.clone(),
                size,
                limit: MAX_VAR_BYTES,
            });
        }
        total += size;
        if largest.is_none_or(|(_, n)| size > n) {
            largest = Some((&var.name, size));
        }
    }
    if total > MAX_TOTAL_BYTES {
        let (name, size) = largest.unwrap_or_default();
        return Err(SizeError::TooMuch {
            total,
            largest: format!("{name}, {size} bytes"),
            limit: MAX_TOTAL_BYTES,
        });
    }
    Ok(())
}

/// Writes each file variable's content to a private file (0600) in `dir`
/// (created 0700) and returns the variables with file values replaced by the
/// paths. Existing files are replaced atomically, so a directory can be
/// reused for the same environment.
pub fn materialize(vars: &[Var], dir: &Path) -> std::io::Result<Vec<Var>> {
    if vars.iter().any(|v| v.kind == VarKind::File) {
        fsutil::create_private_dir_all(dir)?;
    }
    let mut out = Vec::with_capacity(vars.len());
    for (i, var) in vars.iter().enumerate() {
        let mut var = var.clone();
        if var.kind == VarKind::File {
            let path = dir.join(file_name(&var.name, i));
            fsutil::write_atomic(&path, var.value.as_bytes())?;
            var.value = path.to_string_lossy().into_owned();
            // The path itself is no secret; the content stays in the
            // redaction set through `secret_values` of the projection.
            var.secret = false;
        }
        out.push(var);
    }
    Ok(out)
}

/// The variable's name when it is a safe file name, else a name from its
/// position; names of both kinds never collide (the latter contain `-`).
fn file_name(var: &str, index: usize) -> PathBuf {
    let plain = !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain {
        PathBuf::from(var)
    } else {
        PathBuf::from(format!("file-{index}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn obj(entries: Vec<(&str, Value)>) -> Value {
        Value::object(entries.into_iter().map(|(k, v)| (k.to_string(), v)))
    }

    #[test]
    fn drops_non_scalars_and_orders_env_then_files() {
        let top = obj(vec![
            (
                "files",
                obj(vec![("A_FILE", Value::string("content").secret())]),
            ),
            (
                "environmentVariables",
                obj(vec![
                    ("Z", Value::string("z")),
                    ("NESTED", obj(vec![])),
                    ("LIST", Value::new(Kind::Array(vec![]))),
                    ("U", Value::unknown()),
                    ("B", Value::new(Kind::Bool(true))),
                ]),
            ),
        ]);
        let vars = project(&top);
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["B", "U", "Z", "A_FILE"]);
        assert_eq!(vars[1].value, "[unknown]");
        assert_eq!(vars[3].kind, VarKind::File);
        assert!(vars[3].secret);
        assert_eq!(secret_values(&vars), ["content"]);
        assert!(!format!("{vars:?}").contains("content"));
    }

    #[test]
    fn materializes_private_files() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("files");
        let vars = vec![
            Var {
                name: "KEY".into(),
                value: "x\ny".into(),
                secret: true,
                kind: VarKind::File,
            },
            Var {
                name: "../evil".into(),
                value: "z".into(),
                secret: false,
                kind: VarKind::File,
            },
        ];
        let out = materialize(&vars, &dir).unwrap();
        assert_eq!(out[0].value, dir.join("KEY").to_str().unwrap());
        assert_eq!(std::fs::read_to_string(&out[0].value).unwrap(), "x\ny");
        assert_eq!(out[1].value, dir.join("file-1").to_str().unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(Path::new(&out[0].value)), 0o600);
    }

    fn env_var(name: &str, len: usize) -> Var {
        Var {
            name: name.into(),
            value: "v".repeat(len),
            secret: true,
            kind: VarKind::Env,
        }
    }

    #[test]
    fn one_variable_up_to_the_kernel_limit() {
        // NAME=value and its NUL: 3 + 1 + len + 1.
        let at_limit = MAX_VAR_BYTES - 5;
        assert_eq!(check_sizes(&[env_var("BIG", at_limit)]), Ok(()));
        let err = check_sizes(&[env_var("OK", 3), env_var("BIG", at_limit + 1)]).unwrap_err();
        assert_eq!(
            err,
            SizeError::TooLong {
                name: "BIG".into(),
                size: MAX_VAR_BYTES + 1,
                limit: MAX_VAR_BYTES
            }
        );
        let text = err.to_string();
        assert!(text.contains("BIG is 131073 bytes"), "{text}");
        assert!(text.contains("131072"), "{text}");
        assert!(!text.contains("vvvv"), "{text}");
    }

    #[test]
    fn all_variables_up_to_a_mebibyte() {
        let vars: Vec<Var> = (0..9).map(|i| env_var(&format!("V{i}"), 120_000)).collect();
        let err = check_sizes(&vars).unwrap_err();
        assert!(
            matches!(
                err,
                SizeError::TooMuch {
                    total: 1_080_036,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(check_sizes(&vars[..8]), Ok(()));
    }

    #[test]
    fn file_contents_do_not_count() {
        let mut cert = env_var("CERT", 10 * MAX_VAR_BYTES);
        cert.kind = VarKind::File;
        assert_eq!(check_sizes(&[cert]), Ok(()));
    }
}
