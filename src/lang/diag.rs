//! Diagnostics: what went wrong, in which environment, at which line and
//! column, and at which property path.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    /// The environment the position belongs to; `None` when there is no
    /// position (a YAML syntax error reports its own line in the summary).
    pub file: Option<String>,
    /// 1-based; 0 when unknown.
    pub line: usize,
    pub column: usize,
    /// Document path such as `values.a["fn::join"][1]`; empty when unknown.
    pub path: String,
    /// For a missing environment: its name (so callers can branch on it).
    pub missing_environment: Option<String>,
}

/// `name:line:col: summary`, the form `open` and `run` print on stderr.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.file {
            Some(file) if self.line > 0 => write!(
                f,
                "{file}:{}:{}: {sev}: {}",
                self.line, self.column, self.summary
            )?,
            Some(file) => write!(f, "{file}: {sev}: {}", self.summary)?,
            None => write!(f, "{sev}: {}", self.summary)?,
        }
        if !self.path.is_empty() {
            write!(f, " (at {})", self.path)?;
        }
        Ok(())
    }
}
