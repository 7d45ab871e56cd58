//! Where `aws-login`'s `oidc` form gets its web identity token. Pulumi
//! Cloud mints one for ESC; escsh runs on the user's machine and takes the
//! first of: `oidc.token`, `oidc.tokenFile`, `AWS_WEB_IDENTITY_TOKEN_FILE`
//! (EKS, most CI systems), and GitHub Actions' token request endpoint.

use std::path::{Path, PathBuf};

use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_types::error::metadata::{ErrorMetadata, ProvideErrorMetadata};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use super::inputs::{Object, Secret};
use super::sdk::{self, Call};
use super::{http, Env};
use crate::lang::ProviderError;

pub const TOKEN_FILE_VAR: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
pub const GITHUB_URL_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const GITHUB_TOKEN_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// The audience AWS's own GitHub Actions integration asks for.
pub const GITHUB_AUDIENCE: &str = "sts.amazonaws.com";

/// Finds the token for the `oidc` object.
pub async fn web_identity_token(oidc: &Object<'_>, env: &Env) -> Result<Secret, ProviderError> {
    if let Some(token) = oidc.secret("token")? {
        return Ok(token);
    }
    if let Some(path) = oidc.string("tokenFile")? {
        return read_token_file(&expand_home(path, env))
            .map_err(|why| oidc.error("tokenFile", why));
    }
    if let Some(path) = env.get(TOKEN_FILE_VAR) {
        return read_token_file(Path::new(&path))
            .map_err(|why| oidc.error("", format_args!("{TOKEN_FILE_VAR}: {why}")));
    }
    match (env.get(GITHUB_URL_VAR), env.get(GITHUB_TOKEN_VAR)) {
        (Some(url), Some(bearer)) => github_actions_token(&url, &Secret::new(bearer))
            .await
            .map_err(|why| oidc.error("", why)),
        (url, _) => Err(oidc.error(
            "",
            format_args!(
                "no web identity token: set `oidc.token` or `oidc.tokenFile`, or run where \
                 {TOKEN_FILE_VAR} is set (EKS, CI) or in GitHub Actions with `permissions: \
                 id-token: write` ({GITHUB_URL_VAR} and {GITHUB_TOKEN_VAR}){}",
                if url.is_some() {
                    format!("; {GITHUB_URL_VAR} is set but {GITHUB_TOKEN_VAR} is not")
                } else {
                    String::new()
                }
            ),
        )),
    }
}

/// `~/x` is the user's home, as it would be in a shell.
fn expand_home(path: &str, env: &Env) -> PathBuf {
    match (path.strip_prefix("~/"), env.get("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn read_token_file(path: &Path) -> Result<Secret, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("{shown} is empty"));
    }
    Ok(Secret::new(token))
}

/// Asks GitHub Actions' token service for a token with audience
/// `sts.amazonaws.com`, through the SDK's own HTTP stack so that timeouts,
/// retries and TLS are the same as for STS.
async fn github_actions_token(url: &str, bearer: &Secret) -> Result<Secret, String> {
    let (base, path) =
        split_url(url).ok_or_else(|| format!("{GITHUB_URL_VAR} is not an http(s) URL"))?;
    let separator = if path.contains('?') { '&' } else { '?' };
    let path = format!("{path}{separator}audience={GITHUB_AUDIENCE}");
    let operation = Operation::builder()
        .service_name("GitHubActions")
        .operation_name("GetIdToken")
        .endpoint_url(base)
        .http_client(http::client())
        .no_auth()
        .sleep_impl(TokioSleep::new())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(sdk::CONNECT_TIMEOUT)
                .operation_attempt_timeout(sdk::ATTEMPT_TIMEOUT)
                .operation_timeout(sdk::TOTAL_TIMEOUT)
                .build(),
        )
        .standard_retry(&RetryConfig::standard())
        .retry_classifier(TransientErrorClassifier::<TokenResponseError>::new())
        .retry_classifier(HttpStatusCodeClassifier::default())
        .serializer(move |bearer: Secret| {
            let mut request = HttpRequest::get(&path)?;
            request
                .headers_mut()
                .insert("authorization", format!("bearer {}", bearer.expose()));
            request.headers_mut().insert("accept", "application/json");
            Ok(request)
        })
        .deserializer(parse_token_response)
        .build();
    let call = Call {
        name: "GitHub Actions token request",
        endpoint: base.to_string(),
        credentials: None,
    };
    operation
        .invoke(bearer.clone())
        .await
        .map_err(|err| call.error(&err, &[bearer]))
}

/// `https://host:port/p?q` → (`https://host:port`, `/p?q`).
fn split_url(url: &str) -> Option<(&str, String)> {
    let scheme_end = url.find("://")? + 3;
    if !matches!(&url[..scheme_end], "http://" | "https://") {
        return None;
    }
    let host_end = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let path = &url[host_end..];
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    Some((&url[..host_end], path))
}

fn parse_token_response(
    response: &HttpResponse,
) -> Result<Secret, OrchestratorError<TokenResponseError>> {
    let fail = |message: &str| OrchestratorError::operation(TokenResponseError::new(message));
    if !response.status().is_success() {
        return Err(fail(
            "the token service refused; does the job have `permissions: id-token: write`?",
        ));
    }
    let body = response.body().bytes().unwrap_or_default();
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| fail("the token service's answer is not JSON"))?;
    match json.get("value").and_then(|v| v.as_str()) {
        Some(token) if !token.is_empty() => Ok(Secret::new(token)),
        _ => Err(fail("the token service's answer has no `value`")),
    }
}

/// A token-service answer escsh cannot use.
#[derive(Debug)]
struct TokenResponseError(ErrorMetadata);

impl TokenResponseError {
    fn new(message: &str) -> TokenResponseError {
        TokenResponseError(
            ErrorMetadata::builder()
                .code("TokenRequestFailed")
                .message(message)
                .build(),
        )
    }
}

impl std::fmt::Display for TokenResponseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.message().unwrap_or("bad token response"))
    }
}

impl std::error::Error for TokenResponseError {}

impl ProvideErrorMetadata for TokenResponseError {
    fn meta(&self) -> &ErrorMetadata {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Value;
    use crate::providers::aws::test_server::Canned;

    fn value(json: serde_json::Value) -> Value {
        Value::from_json(&json)
    }

    fn oidc_of(value: &Value) -> Object<'_> {
        Object::root("aws-login", value)
            .and_then(|root| root.required_object("oidc"))
            .unwrap()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn token_input_wins() {
        let v = value(serde_json::json!({"oidc": {"token": "t0k", "tokenFile": "/nonexistent"}}));
        let env = Env::fixed([(TOKEN_FILE_VAR, "/nonexistent")]);
        let token = block_on(web_identity_token(&oidc_of(&v), &env)).unwrap();
        assert_eq!(token.expose(), "t0k");
    }

    #[test]
    fn token_files_are_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  jwt-from-file\n").unwrap();
        let v = value(serde_json::json!({"oidc": {"tokenFile": "~/token"}}));
        let env = Env::fixed([("HOME", dir.path().to_str().unwrap())]);
        let token = block_on(web_identity_token(&oidc_of(&v), &env)).unwrap();
        assert_eq!(token.expose(), "jwt-from-file");

        let v = value(serde_json::json!({"oidc": {}}));
        let env = Env::fixed([(TOKEN_FILE_VAR, file.to_str().unwrap())]);
        let token = block_on(web_identity_token(&oidc_of(&v), &env)).unwrap();
        assert_eq!(token.expose(), "jwt-from-file");
    }

    #[test]
    fn unreadable_or_empty_token_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let v = value(serde_json::json!({"oidc": {"tokenFile": missing.to_str().unwrap()}}));
        let err = block_on(web_identity_token(
            &oidc_of(&v),
            &Env::fixed::<&str, &str>([]),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("aws-login: oidc.tokenFile: cannot read "),
            "{err}"
        );

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let v = value(serde_json::json!({"oidc": {}}));
        let env = Env::fixed([(TOKEN_FILE_VAR, empty.to_str().unwrap())]);
        let err = block_on(web_identity_token(&oidc_of(&v), &env))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AWS_WEB_IDENTITY_TOKEN_FILE: ") && err.ends_with("is empty"),
            "{err}"
        );
    }

    #[test]
    fn no_source_lists_them_all() {
        let v = value(serde_json::json!({"oidc": {}}));
        let env = Env::fixed([(GITHUB_URL_VAR, "https://example.invalid/x")]);
        let err = block_on(web_identity_token(&oidc_of(&v), &env))
            .unwrap_err()
            .to_string();
        for needle in [
            "oidc.token",
            "oidc.tokenFile",
            TOKEN_FILE_VAR,
            GITHUB_URL_VAR,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN is not",
        ] {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
    }

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("https://host:8080/a/b?x=1"),
            Some(("https://host:8080", "/a/b?x=1".to_string()))
        );
        assert_eq!(
            split_url("http://host?x=1"),
            Some(("http://host", "/?x=1".to_string()))
        );
        assert_eq!(split_url("ftp://host/"), None);
        assert_eq!(split_url("host/path"), None);
    }

    #[test]
    fn github_actions_token_is_requested_with_the_sts_audience() {
        let server = Canned::serve(vec![(
            "200 OK",
            "application/json",
            r#"{"count":1,"value":"gh-jwt"}"#,
        )]);
        let url = format!("{}/token?api-version=2.0", server.url);
        let v = value(serde_json::json!({"oidc": {}}));
        let env = Env::fixed([
            (GITHUB_URL_VAR, url.as_str()),
            (GITHUB_TOKEN_VAR, "runtime-bearer"),
        ]);
        let token = block_on(web_identity_token(&oidc_of(&v), &env)).unwrap();
        assert_eq!(token.expose(), "gh-jwt");
        let request = server.requests().remove(0);
        let first_line = request.lines().next().unwrap();
        assert_eq!(
            first_line,
            "GET /token?api-version=2.0&audience=sts.amazonaws.com HTTP/1.1"
        );
        assert!(request
            .to_ascii_lowercase()
            .contains("authorization: bearer runtime-bearer"));
    }

    #[test]
    fn github_actions_errors_do_not_leak_the_bearer() {
        let server = Canned::serve(vec![(
            "403 Forbidden",
            "application/json",
            r#"{"message":"nope"}"#,
        )]);
        let url = format!("{}/token?api-version=2.0", server.url);
        let v = value(serde_json::json!({"oidc": {}}));
        let env = Env::fixed([
            (GITHUB_URL_VAR, url.as_str()),
            (GITHUB_TOKEN_VAR, "runtime-bearer"),
        ]);
        let err = block_on(web_identity_token(&oidc_of(&v), &env))
            .unwrap_err()
            .to_string();
        server.requests();
        assert!(
            err.starts_with(
                "aws-login: oidc: GitHub Actions token request failed: TokenRequestFailed (HTTP 403): \
                 the token service refused; does the job have `permissions: id-token: write`?"
            ),
            "{err}"
        );
        assert!(err.contains("HTTP 403"), "{err}");
        assert!(!err.contains("runtime-bearer"), "{err}");
    }
}
