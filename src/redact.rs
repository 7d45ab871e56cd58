//! Streaming redaction of secret values in a child's output.
//!
//! Output is processed chunk by chunk as it arrives, not line by line, so
//! progress bars and prompts keep flowing. Only the bytes that could still
//! be the start of a secret (the longest suffix that is a proper prefix of
//! some secret, at most longest-secret − 1 bytes) are held back until the
//! next chunk decides them.

use std::io::{self, Write};

use aho_corasick::{AhoCorasick, MatchKind};

/// What a secret is replaced with.
pub const MASK: &[u8] = b"[secret]";
/// Shorter values would mask ordinary text (`on`, `1`) everywhere.
pub const MIN_LEN: usize = 3;

/// Whether output to a stream is redacted: never for a terminal, so colours,
/// TTY detection and interactive programs keep working; never when the user
/// turned it off; and only when there is something to hide.
pub fn should_redact(disabled: bool, stream_is_terminal: bool, have_secrets: bool) -> bool {
    !disabled && !stream_is_terminal && have_secrets
}

/// The secret patterns of one run. Cheap to share between streams.
#[derive(Clone)]
pub struct Patterns {
    matcher: AhoCorasick,
    patterns: Vec<Vec<u8>>,
}

impl Patterns {
    /// `None` when no value is long enough to redact.
    pub fn new<I, S>(secrets: I) -> Option<Patterns>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut patterns: Vec<Vec<u8>> = secrets
            .into_iter()
            .map(|s| s.as_ref().to_vec())
            .filter(|s| s.len() >= MIN_LEN)
            .collect();
        patterns.sort();
        patterns.dedup();
        if patterns.is_empty() {
            return None;
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok()?;
        Some(Patterns { matcher, patterns })
    }

    pub fn stream(&self) -> Stream<'_> {
        Stream {
            patterns: self,
            pending: Vec::new(),
        }
    }

    /// Length of the longest suffix of `buf` that a secret could continue.
    fn held_back(&self, buf: &[u8]) -> usize {
        let longest = self.patterns.iter().map(Vec::len).max().unwrap_or(0);
        let max = longest.saturating_sub(1).min(buf.len());
        (1..=max)
            .rev()
            .find(|&k| {
                let suffix = &buf[buf.len() - k..];
                self.patterns
                    .iter()
                    .any(|p| p.len() > k && p.starts_with(suffix))
            })
            .unwrap_or(0)
    }
}

/// One output stream being redacted.
pub struct Stream<'p> {
    patterns: &'p Patterns,
    /// Bytes not yet written: they may be the start of a secret.
    pending: Vec<u8>,
}

impl Stream<'_> {
    /// Redacts `chunk` (after what is pending) and writes what is decided.
    pub fn push(&mut self, chunk: &[u8], out: &mut dyn Write) -> io::Result<()> {
        self.pending.extend_from_slice(chunk);
        let buf = std::mem::take(&mut self.pending);
        // A match starting before `safe` cannot grow any longer, and no
        // secret can start before `safe` and end in a later chunk.
        let safe = buf.len() - self.patterns.held_back(&buf);
        let mut pos = 0;
        for m in self.patterns.matcher.find_iter(&buf) {
            if m.start() >= safe {
                break;
            }
            out.write_all(&buf[pos..m.start()])?;
            out.write_all(MASK)?;
            pos = m.end();
        }
        let keep_from = pos.max(safe);
        out.write_all(&buf[pos..keep_from])?;
        self.pending = buf[keep_from..].to_vec();
        Ok(())
    }

    /// Writes what is still pending, redacted; call at end of stream.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let buf = std::mem::take(&mut self.pending);
        let mut pos = 0;
        for m in self.patterns.matcher.find_iter(&buf) {
            out.write_all(&buf[pos..m.start()])?;
            out.write_all(MASK)?;
            pos = m.end();
        }
        out.write_all(&buf[pos..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact_in_chunks(secrets: &[&str], input: &[u8], sizes: &[usize]) -> Vec<u8> {
        let p = Patterns::new(secrets.iter().copied()).unwrap();
        let mut s = p.stream();
        let mut out = Vec::new();
        let mut rest = input;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].clamp(1, rest.len());
            s.push(&rest[..n], &mut out).unwrap();
            rest = &rest[n..];
            i += 1;
        }
        s.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn decision() {
        assert!(should_redact(false, false, true));
        assert!(!should_redact(false, true, true), "terminals pass through");
        assert!(!should_redact(true, false, true), "--no-redact");
        assert!(!should_redact(false, false, false), "nothing to hide");
    }

    #[test]
    fn short_values_are_not_patterns() {
        assert!(Patterns::new(["ab", ""]).is_none());
    }

    #[test]
    fn every_split_gives_the_same_result() {
        let secrets = ["hunter2", "hunt", "xyzzy-secret", "aaa"];
        let input = b"hunter2 hunthunter2 xyzzy-secre xyzzy-secret aaaa hunte hunter";
        let want = b"[secret] [secret][secret] xyzzy-secre [secret] [secret]a [secret]e [secret]er";
        for size in 1..input.len() {
            assert_eq!(
                redact_in_chunks(&secrets, input, &[size]),
                want,
                "chunk size {size}"
            );
        }
        assert_eq!(redact_in_chunks(&secrets, input, &[3, 1, 7, 2]), want);
    }

    #[test]
    fn plain_output_is_not_held_back() {
        let p = Patterns::new(["secret"]).unwrap();
        let mut s = p.stream();
        let mut out = Vec::new();
        s.push(b"Password: ", &mut out).unwrap();
        assert_eq!(out, b"Password: ");
        s.push(b"sec", &mut out).unwrap();
        assert_eq!(out, b"Password: ", "a possible secret start waits");
        s.push(b"ond\n", &mut out).unwrap();
        assert_eq!(out, b"Password: second\n");
    }
}
