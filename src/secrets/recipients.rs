//! Who a definition's secrets are encrypted for: the age public keys in the
//! nearest `recipients` file found walking up from the definition's
//! directory, plus the user's own key; the user alone without such a file.

use std::path::{Path, PathBuf};

use age::x25519;

use crate::fsutil::{self, Trusting};
use crate::printable;

pub const FILE_NAME: &str = "recipients";
const MAX_SIZE: u64 = 1024 * 1024;

/// The recipients of one definition.
pub struct Recipients {
    /// In the file's order, the user's own key last unless listed.
    pub keys: Vec<x25519::Recipient>,
    /// The file they came from, if any.
    pub file: Option<PathBuf>,
}

impl Recipients {
    /// Says who besides the user can read what was just encrypted, keys in
    /// full: a `recipients` file may come with a cloned repository, and a
    /// key added to it quietly would read every secret saved after. `None`
    /// when it is the user alone.
    pub fn shared_with(&self, own: &x25519::Recipient) -> Option<String> {
        let own = own.to_string();
        let others: Vec<String> = self
            .keys
            .iter()
            .map(ToString::to_string)
            .filter(|k| *k != own)
            .collect();
        if others.is_empty() {
            return None;
        }
        let file = self
            .file
            .as_deref()
            .map(|f| printable::line(&f.display().to_string()).into_owned())
            .unwrap_or_else(|| "no file".into());
        Some(format!(
            "escsh: note: encrypted for you and {} other key(s) listed in {file}, whose holders can \
             read these secrets:\n{}\n  (edit {file} and run `escsh env rekey` to change who)",
            others.len(),
            others
                .iter()
                .map(|k| format!("  {k}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecipientsError {
    #[error("{file}:{line}: {problem}")]
    Invalid {
        file: String,
        line: usize,
        problem: String,
    },
    #[error(transparent)]
    Read(#[from] fsutil::ReadError),
}

/// The nearest `recipients` file in `dir` or its parents, not looking
/// above `stop` when given (the store's root: files outside the store are
/// not the store's).
pub fn nearest(dir: &Path, stop: Option<&Path>) -> Option<PathBuf> {
    for d in dir.ancestors() {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if stop.is_some_and(|s| s == d) {
            break;
        }
    }
    None
}

/// The recipients for a definition in `dir`, with `own` (the user's key).
pub fn for_dir(
    dir: Option<&Path>,
    stop: Option<&Path>,
    own: &x25519::Recipient,
) -> Result<Recipients, RecipientsError> {
    let file = dir.and_then(|d| nearest(d, stop));
    let mut keys = match &file {
        Some(f) => parse(f, &fsutil::read_checked(f, MAX_SIZE, Trusting::Any)?)?,
        None => Vec::new(),
    };
    let own_text = own.to_string();
    if !keys.iter().any(|k| k.to_string() == own_text) {
        keys.push(own.clone());
    }
    Ok(Recipients { keys, file })
}

/// One age public key a line; `#` starts a comment; blank lines are fine.
pub fn parse(file: &Path, bytes: &[u8]) -> Result<Vec<x25519::Recipient>, RecipientsError> {
    let invalid = |line, problem: String| RecipientsError::Invalid {
        file: printable::line(&file.display().to_string()).into_owned(),
        line,
        problem,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| invalid(0, "it is not UTF-8 text".into()))?;
    let mut keys: Vec<x25519::Recipient> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let key: x25519::Recipient = line.parse().map_err(|_| {
            invalid(
                i + 1,
                format!(
                    "{} is not an age X25519 public key (age1...); write one key a line, `#` for comments",
                    printable::line(line)
                ),
            )
        })?;
        if !keys.iter().any(|k| k.to_string() == key.to_string()) {
            keys.push(key);
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_file_plus_own_key() {
        let d = tempfile::tempdir().unwrap();
        let own = x25519::Identity::generate().to_public();
        let other = x25519::Identity::generate().to_public();
        let deep = d.path().join("org/proj");
        std::fs::create_dir_all(&deep).unwrap();
        let alone = for_dir(Some(&deep), Some(d.path()), &own).unwrap();
        assert_eq!(alone.keys.len(), 1);
        assert!(alone.file.is_none());
        std::fs::write(
            d.path().join("org/recipients"),
            format!("# team\n{other}  # alice\n\n{other}\n"),
        )
        .unwrap();
        let team = for_dir(Some(&deep), Some(d.path()), &own).unwrap();
        let keys: Vec<String> = team.keys.iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, [other.to_string(), own.to_string()]);
        assert_eq!(team.file.unwrap(), d.path().join("org/recipients"));
        // Not above the stop.
        assert!(for_dir(Some(&deep), Some(&deep), &own)
            .unwrap()
            .file
            .is_none());
    }

    #[test]
    fn bad_lines_say_where() {
        let err = parse(Path::new("r"), b"# ok\nage1nope\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("r:2: "), "{err}");
    }
}
