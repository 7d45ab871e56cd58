//! The ESC environment language: parse a definition, evaluate it with its
//! imports, report diagnostics with where and what.
//!
//! Evaluation is synchronous and touches nothing but the definitions handed
//! to it through a [`Loader`]; only an `fn::open` reaches a provider, and only
//! then is an async runtime built.

mod ast;
pub mod budget;
mod builtins;
mod call;
pub mod diag;
pub mod envelope;
mod eval;
pub mod interp;
mod metaschema;
mod provider;
mod resolve;
pub mod schema;
pub mod syntax;
pub mod text;
mod val;
pub mod value;

pub use diag::{Diagnostic, Severity};
pub use resolve::edit_distance;
pub use value::{Kind, Number, Value};

pub use provider::{
    BoxFuture, Context, Credential, CredentialPart, Opened, Provider, ProviderError, Registry,
    Rotator,
};

/// Finds the definition of an environment named as an import or an
/// `${environments.project.env}` reference names it (`env` or `project/env`).
pub trait Loader {
    fn load(&self, name: &str) -> Result<Vec<u8>, LoadError>;
}

/// Why a definition could not be loaded. The message is shown verbatim at
/// the import or reference that asked for it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    #[error("environment \"{name}\" not found{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    NotFound { name: String, hint: Option<String> },
    #[error("{0}")]
    Other(String),
}

/// Decrypts the payload of an `fn::secret: {ciphertext: ...}` envelope.
pub trait Decrypter {
    fn decrypt(&self, payload: &[u8]) -> Result<Vec<u8>, String>;

    /// Decrypts every payload of a definition at once, before it is
    /// evaluated: a decrypter whose every value costs a key agreement can
    /// spread them over the cores. The results are in `payloads`' order.
    fn decrypt_all(&self, payloads: &[&[u8]]) -> Vec<Result<Vec<u8>, String>> {
        payloads.iter().map(|p| self.decrypt(p)).collect()
    }
}

/// What an evaluation needs besides the definitions.
pub struct Options<'a> {
    pub providers: &'a Registry,
    pub decrypter: Option<&'a dyn Decrypter>,
    /// The execution context visible as `${context.*}` (an object);
    /// `currentEnvironment` and `rootEnvironment` are added by the evaluator.
    pub context: Value,
}

/// The result of evaluating one environment.
#[derive(Debug)]
pub struct Evaluated {
    /// The top-level object (`{}` for a definition without values), or
    /// `None` when there was nothing to evaluate: no YAML document at all
    /// (as ESC, whose conformance case `empty` expects null) or one that
    /// could not be parsed.
    pub value: Option<Value>,
    /// Load and evaluation diagnostics, sorted by file, line and column.
    pub diagnostics: Vec<Diagnostic>,
    /// The earliest expiry (Unix seconds) reported by any provider opened.
    pub expires_at: Option<i64>,
    /// The credential parts providers returned (see [`Opened::credentials`]).
    pub credentials: Vec<Credential>,
}

impl Evaluated {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Evaluates the definition `source` of the environment `name`.
pub fn evaluate(name: &str, source: &[u8], loader: &dyn Loader, options: &Options) -> Evaluated {
    let mut evaluator = eval::Evaluator::new(name, loader, options);
    let value = match evaluator.parse(name, source) {
        Some(doc) if doc.blank => None,
        Some(doc) => {
            evaluator.report_load_diags(name, &doc);
            Some(evaluator.eval_root(&doc).to_value(false))
        }
        None => None,
    };
    let mut diagnostics = std::mem::take(&mut evaluator.diags);
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    Evaluated {
        value,
        diagnostics,
        expires_at: evaluator.expires_at,
        credentials: std::mem::take(&mut evaluator.credentials),
    }
}

#[cfg(test)]
mod tests;
