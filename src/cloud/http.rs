//! One HTTP exchange with a Pulumi Cloud backend: the headers every request
//! carries, the timeouts (connect 3 s, whole call 15 s), and the retry rule
//! (a GET is retried with backoff on 429 and 5xx; a POST never is, as the
//! `esc` client does). The TLS roots are loaded only for an `https://` URL.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::login::Token;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Tries of a GET in all, and the first pause between them (doubled each
/// time): short, because a prompt may be waiting on the first open.
const TRIES: u32 = 4;
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// No answer escsh reads is bigger than a definition or an environment.
const MAX_BODY: usize = 16 << 20;
const ACCEPT: &str = "application/vnd.pulumi+8";
const USER_AGENT: &str = concat!("escsh/", env!("CARGO_PKG_VERSION"));

/// What came back (any status).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn request_id(&self) -> Option<&str> {
        self.header("x-pulumi-request-id")
    }
}

/// The exchange did not happen: the message names the endpoint, never the
/// token.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{endpoint}: cannot reach {base} ({reason}); check the network or PULUMI_BACKEND_URL")]
    Unreachable {
        endpoint: String,
        base: String,
        reason: String,
    },
    #[error("{endpoint}: no answer from {base} within {}s", CALL_TIMEOUT.as_secs())]
    Timeout { endpoint: String, base: String },
    #[error("{endpoint}: the answer is over {} MiB", MAX_BODY >> 20)]
    TooBig { endpoint: String },
    #[error("cannot set up HTTPS: {0}")]
    Tls(String),
}

type Inner = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

pub struct Http {
    base: String,
    token: Token,
    client: Inner,
    runtime: tokio::runtime::Runtime,
}

impl Http {
    /// A client for `base` (`http://` or `https://`, no trailing slash).
    pub fn new(base: &str, token: Token) -> Result<Http, HttpError> {
        let mut plain = HttpConnector::new();
        plain.set_connect_timeout(Some(CONNECT_TIMEOUT));
        plain.enforce_http(false);
        plain.set_nodelay(true);
        let tls = tls_config(base.starts_with("https://"))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(plain);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| HttpError::Tls(format!("starting the runtime: {e}")))?;
        Ok(Http {
            base: base.to_string(),
            token,
            client,
            runtime,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`, retried on 429 and 5xx while the retries stay within
    /// one call's time.
    pub fn get(&self, path: &str) -> Result<Answer, HttpError> {
        let start = std::time::Instant::now();
        let mut pause = FIRST_PAUSE;
        let mut tries = 1;
        loop {
            let answer = self.once(http::Method::GET, path, None)?;
            let again = answer.status == 429 || answer.status >= 500;
            let in_time = start.elapsed() + pause < CALL_TIMEOUT;
            if !again || tries >= TRIES || !in_time {
                return Ok(answer);
            }
            std::thread::sleep(pause);
            pause *= 2;
            tries += 1;
        }
    }

    /// `POST path` with `body`, tried once.
    pub fn post(&self, path: &str, body: Vec<u8>) -> Result<Answer, HttpError> {
        self.once(http::Method::POST, path, Some(body))
    }

    fn once(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, HttpError> {
        let endpoint = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let url = format!("{}{path}", self.base);
        let request = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Authorization", format!("token {}", self.token.expose()))
            .header("Accept", ACCEPT)
            .header("Content-Type", "application/json")
            .header("User-Agent", USER_AGENT)
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| HttpError::Unreachable {
                endpoint: endpoint.clone(),
                base: self.base.clone(),
                reason: format!("bad request URL: {e}"),
            })?;
        let call = async {
            let response =
                self.client
                    .request(request)
                    .await
                    .map_err(|e| HttpError::Unreachable {
                        endpoint: endpoint.clone(),
                        base: self.base.clone(),
                        reason: describe(&e),
                    })?;
            let (parts, mut body) = response.into_parts();
            let mut bytes = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| HttpError::Unreachable {
                    endpoint: endpoint.clone(),
                    base: self.base.clone(),
                    reason: format!("the answer was cut off: {e}"),
                })?;
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                    if bytes.len() > MAX_BODY {
                        return Err(HttpError::TooBig {
                            endpoint: endpoint.clone(),
                        });
                    }
                }
            }
            Ok(Answer {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body: bytes,
            })
        };
        self.runtime.block_on(async {
            match tokio::time::timeout(CALL_TIMEOUT, call).await {
                Ok(result) => result,
                Err(_) => Err(HttpError::Timeout {
                    endpoint: endpoint.clone(),
                    base: self.base.clone(),
                }),
            }
        })
    }
}

/// The innermost cause: hyper's outer message says only "client error".
fn describe(e: &dyn std::error::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// rustls with the platform's roots, loaded only when the URL is https.
fn tls_config(https: bool) -> Result<rustls::ClientConfig, HttpError> {
    let mut roots = rustls::RootCertStore::empty();
    if https {
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err(HttpError::Tls(
                "no trusted root certificates were found on this system (install ca-certificates, or set SSL_CERT_FILE)".into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
