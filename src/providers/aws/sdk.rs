//! What the three providers share around the SDK: loading an `SdkConfig`
//! with bounded timeouts and our HTTP client, and turning SDK errors into
//! messages that say what failed, where, and what to do, without a secret.

use std::time::Duration;

use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::creds::{self, Source};
use super::inputs::{self, Secret};
use super::message;
use super::{http, Settings};
use crate::lang::ProviderError;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt; a hung attempt is abandoned early enough to retry once.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Everything, retries and backoff included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Whose credentials sign the requests.
pub enum Identity {
    /// Unsigned (`AssumeRoleWithWebIdentity` needs no credentials).
    Anonymous,
    /// Given in the inputs.
    Static(Credentials),
    /// The standard AWS chain (environment, profile, SSO cache, ...),
    /// optionally with a named profile.
    Chain { profile: Option<String> },
}

impl Identity {
    /// Credentials from an `{accessKeyId, secretAccessKey, sessionToken?}`
    /// object such as `${aws.login}` (other properties, e.g. `expiration`,
    /// are ignored).
    pub fn from_login(login: &inputs::Object) -> Result<Identity, ProviderError> {
        let key_id = login.required_string("accessKeyId")?;
        let secret = login.required_secret("secretAccessKey")?;
        let token = login.secret("sessionToken")?;
        Ok(Identity::Static(Credentials::new(
            key_id,
            secret.expose(),
            token.map(|t| t.expose().to_string()),
            None,
            "escsh-login-input",
        )))
    }

    fn profile(&self) -> Option<&str> {
        match self {
            Identity::Chain { profile } => profile.as_deref(),
            _ => None,
        }
    }
}

/// Where the requests go.
pub struct Target<'a> {
    pub provider: &'static str,
    /// The `region` input, if any.
    pub region: Option<&'a str>,
    /// Used when neither the input, `AWS_REGION` nor the profile names a
    /// region; `None` makes a missing region an error.
    pub default_region: Option<&'static str>,
    pub identity: Identity,
}

/// Loads the SDK configuration for `target`. Region lookup stops at the
/// environment and the profile (never the EC2 metadata service): an
/// `escsh open` on a laptop must not wait for a metadata endpoint.
pub async fn load(settings: &Settings, target: Target<'_>) -> Result<SdkConfig, ProviderError> {
    let region = resolve_region(&target).await?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .http_client(http::client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(TOTAL_TIMEOUT)
                .build(),
        );
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(profile) = target.identity.profile() {
        loader = loader.profile_name(profile);
    }
    loader = match target.identity {
        Identity::Anonymous => loader.no_credentials(),
        Identity::Static(credentials) => loader.credentials_provider(credentials),
        Identity::Chain { .. } => loader,
    };
    Ok(loader.load().await)
}

async fn resolve_region(target: &Target<'_>) -> Result<Region, ProviderError> {
    let mut profile = ProfileFileRegionProvider::builder();
    if let Some(name) = target.identity.profile() {
        profile = profile.profile_name(name);
    }
    let found = RegionProviderChain::first_try(target.region.map(|r| Region::new(r.to_string())))
        .or_else(EnvironmentVariableRegionProvider::new())
        .or_else(profile.build())
        .region()
        .await;
    found
        .or_else(|| target.default_region.map(Region::from_static))
        .ok_or_else(|| {
            inputs::error(
                target.provider,
                "region",
                "no region given: set `region`, AWS_REGION, or a region in your AWS profile",
            )
        })
}

/// One AWS API call, for messages.
pub struct Call<'a> {
    /// e.g. `STS AssumeRole`.
    pub name: &'a str,
    /// The URL the request goes to, as far as escsh can tell (see
    /// [`endpoint`]), so that an unreachable-endpoint error says which one.
    pub endpoint: String,
    /// Set when the call is signed with the standard chain's credentials:
    /// who needs them, for the message when there are none.
    pub credentials: Option<Source<'a>>,
}

#[derive(Clone, Copy)]
pub enum Service {
    Sts,
    SecretsManager,
    Ssm,
}

impl Service {
    fn env_suffix(self) -> &'static str {
        match self {
            Service::Sts => "STS",
            Service::SecretsManager => "SECRETS_MANAGER",
            Service::Ssm => "SSM",
        }
    }

    fn host_prefix(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "ssm",
        }
    }
}

/// The endpoint the SDK resolves for `service`: the override, the
/// `AWS_ENDPOINT_URL*` variables, else the regional AWS one.
pub fn endpoint(settings: &Settings, service: Service, config: &SdkConfig) -> String {
    let configured = settings.endpoint_url.clone().or_else(|| {
        [
            format!("AWS_ENDPOINT_URL_{}", service.env_suffix()),
            "AWS_ENDPOINT_URL".to_string(),
        ]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    });
    configured.unwrap_or_else(|| {
        let region = config.region().map(|r| r.as_ref()).unwrap_or("<region>");
        format!("https://{}.{region}.amazonaws.com", service.host_prefix())
    })
}

impl Call<'_> {
    /// Describes a failed call. `secrets` are scrubbed from the result in
    /// case a service or a library echoed one back.
    pub fn error<E>(&self, err: &SdkError<E, HttpResponse>, secrets: &[&Secret]) -> String
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let name = self.name;
        // Nothing was sent: the message is about the credentials alone.
        if let Some(found) = creds::find(err) {
            return scrub(creds::describe(found, self.credentials), secrets);
        }
        let message = match err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                let code = e.code().unwrap_or("UnknownError");
                let detail = e.message().unwrap_or("no message");
                let status = service.raw().status().as_u16();
                let hint = hint(code, detail)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                format!("{name} failed: {code} (HTTP {status}): {detail}{hint}")
            }
            SdkError::TimeoutError(_) => format!(
                "{name} timed out after {}s at {}; check the network, or AWS_ENDPOINT_URL if set",
                TOTAL_TIMEOUT.as_secs(),
                self.endpoint
            ),
            SdkError::DispatchFailure(failure) if failure.is_timeout() => format!(
                "{name}: could not connect to {} within {}s",
                self.endpoint,
                CONNECT_TIMEOUT.as_secs()
            ),
            SdkError::DispatchFailure(failure) if failure.is_io() => format!(
                "{name}: cannot reach {}: {}",
                self.endpoint,
                root_cause(err)
            ),
            SdkError::ResponseError(response) => format!(
                "{name}: unexpected response from {} (HTTP {})",
                self.endpoint,
                response.raw().status().as_u16()
            ),
            // Not DisplayErrorContext: it appends the whole Debug structure.
            _ => format!("{name} failed: {}", message::chain(Some(err), &[])),
        };
        scrub(message, secrets)
    }
}

/// The innermost error's text ("Connection refused (os error 111)"),
/// without the chain of wrappers above it.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// What to do about the STS errors people actually hit.
fn hint(code: &str, detail: &str) -> Option<&'static str> {
    Some(match code {
        "AccessDenied" => {
            "check that the role's trust policy allows this caller (for OIDC: the token's issuer, audience and subject)"
        }
        "InvalidIdentityToken" => {
            "the web identity token was rejected: is its issuer registered as an IAM OIDC provider, and its audience allowed?"
        }
        "ExpiredTokenException" | "ExpiredToken" => {
            "the token has expired: get a fresh one and open again"
        }
        "IDPCommunicationError" => "STS could not reach the token's issuer; try again",
        "RegionDisabledException" => {
            "STS is not activated in this region: set `region` (or AWS_REGION) to an enabled one"
        }
        "ValidationError" if detail.contains("DurationSeconds") => {
            "lower `duration`: it must be 15m to 12h and at most the role's maximum session duration"
        }
        "ResourceNotFoundException" | "ParameterNotFound" | "ParameterVersionNotFound" => {
            "check the name, region and account"
        }
        _ => return None,
    })
}

/// Replaces every occurrence of the secrets in `message`.
pub fn scrub(mut message: String, secrets: &[&Secret]) -> String {
    for secret in secrets {
        let text = secret.expose();
        // Very short strings would mangle ordinary words; no real token is
        // that short.
        if text.len() >= 4 && message.contains(text) {
            message = message.replace(text, "[secret]");
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    #[derive(Debug)]
    struct ServiceErr(ErrorMetadata);

    impl std::fmt::Display for ServiceErr {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("service error")
        }
    }

    impl std::error::Error for ServiceErr {}

    impl ProvideErrorMetadata for ServiceErr {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn call() -> Call<'static> {
        Call {
            name: "STS AssumeRoleWithWebIdentity",
            endpoint: "http://127.0.0.1:9".into(),
            credentials: None,
        }
    }

    fn service_error(code: &str, message: &str, status: u16) -> SdkError<ServiceErr, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(ServiceErr(meta), raw)
    }

    #[test]
    fn service_errors_name_code_message_and_hint() {
        let err = service_error(
            "AccessDenied",
            "Not authorized to perform sts:AssumeRole",
            403,
        );
        let text = call().error(&err, &[]);
        assert!(text.starts_with("STS AssumeRoleWithWebIdentity failed: AccessDenied (HTTP 403): Not authorized to perform sts:AssumeRole (check that the role's trust policy"), "{text}");
        let err = service_error("RegionDisabledException", "STS is not activated", 403);
        assert!(call().error(&err, &[]).contains("set `region`"));
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let token = Secret::new("eyJhbGciOi.secret-token");
        let err = service_error(
            "InvalidIdentityToken",
            "bad token eyJhbGciOi.secret-token",
            400,
        );
        let text = call().error(&err, &[&token]);
        assert!(!text.contains("secret-token"), "{text}");
        assert!(text.contains("bad token [secret]"), "{text}");
    }

    #[test]
    fn unreachable_endpoints_are_named() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let err: SdkError<ServiceErr, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        assert_eq!(
            call().error(&err, &[]),
            "STS AssumeRoleWithWebIdentity: cannot reach http://127.0.0.1:9: Connection refused"
        );
        let err: SdkError<ServiceErr, HttpResponse> = SdkError::timeout_error("operation timeout");
        assert!(call()
            .error(&err, &[])
            .contains("timed out after 10s at http://127.0.0.1:9"));
    }
}
