//! Error text on one line: the SDK's errors nest several levels deep and
//! some span lines, while a diagnostic is one line.

use std::error::Error;

/// `err` and its sources, joined with ": ", each text said once (an error
/// often repeats its source's text), leaving out the texts in `generic`
/// (wrappers that say nothing). Empty when nothing is left.
pub fn chain(err: Option<&(dyn Error + 'static)>, generic: &[&str]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = err;
    while let Some(e) = cause {
        let text = one_line(&e.to_string());
        if !text.is_empty()
            && !generic.contains(&text.as_str())
            && !parts.iter().any(|p| p.contains(&text))
        {
            parts.push(text);
        }
        cause = e.source();
    }
    parts.join(": ")
}

/// Lines joined with "; ", blanks dropped.
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Option<Box<Wrap>>);

    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn joins_once_without_wrappers_on_one_line() {
        let inner = Wrap("no such file", None);
        let middle = Wrap("reading x: no such file", Some(Box::new(inner)));
        let outer = Wrap("an error occurred", Some(Box::new(middle)));
        let top = Wrap("list:\n  a\n  b", Some(Box::new(outer)));
        assert_eq!(
            chain(Some(&top), &["an error occurred"]),
            "list:; a; b: reading x: no such file"
        );
        assert_eq!(chain(None, &[]), "");
    }
}
