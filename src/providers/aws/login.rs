//! `fn::open::aws-login`: AWS credentials from `static` keys, an `oidc`
//! web identity (`AssumeRoleWithWebIdentity`) or, as an escsh extension,
//! `assumeRole` from the standard AWS credential chain (`AssumeRole`).

use std::time::Duration;

use aws_sdk_sts::types::{Credentials as StsCredentials, PolicyDescriptorType};
use aws_smithy_types::date_time::Format;

use super::creds::Source;
use super::inputs::Object;
use super::sdk::{self, Call, Identity, Service, Target};
use super::{token, when_known, Settings};
use crate::duration::{self, GoStyle};
use crate::lang::{BoxFuture, Context, Credential, Opened, Provider, ProviderError, Value};

const NAME: &str = "aws-login";
/// ESC defaults to 2h, which STS refuses for any role left at IAM's
/// default maximum session of 1h; escsh picks what works out of the box.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(3600);
/// STS's bounds for role sessions.
const MIN_DURATION: Duration = Duration::from_secs(15 * 60);
const MAX_DURATION: Duration = Duration::from_secs(12 * 3600);
/// Used when no region is configured anywhere: STS answers in every
/// commercial region, and us-east-1 is where its global endpoint lives.
const DEFAULT_STS_REGION: &str = "us-east-1";

pub struct AwsLogin {
    settings: Settings,
}

impl AwsLogin {
    pub fn new(settings: Settings) -> AwsLogin {
        AwsLogin { settings }
    }

    async fn open(&self, inputs: &Value) -> Result<Opened, ProviderError> {
        let root = Object::root(NAME, inputs)?;
        root.only(&["static", "oidc", "assumeRole", "region"])?;
        let forms: Vec<&str> = ["oidc", "assumeRole", "static"]
            .into_iter()
            .filter(|form| root.has(form))
            .collect();
        let opened = match forms.as_slice() {
            [] => Err(root.error(
                "",
                "give one of `oidc` (a web identity token), `assumeRole` (your AWS profile or \
                 environment) or `static` (keys)",
            )),
            [first, second, ..] => Err(root.error(
                "",
                format_args!("`{first}` and `{second}` exclude each other; give only one"),
            )),
            ["static"] => static_keys(&root.required_object("static")?).map(Opened::from),
            ["oidc"] => self.oidc(&root).await,
            _ => self.assume_role(&root).await,
        };
        opened.map(mark_credentials)
    }

    async fn oidc(&self, root: &Object<'_>) -> Result<Opened, ProviderError> {
        let oidc = root.required_object("oidc")?;
        oidc.only(&[
            "roleArn",
            "sessionName",
            "duration",
            "policyArns",
            // Shapes the token Pulumi Cloud mints; meaningless for a token
            // escsh is handed, accepted so ESC definitions load unchanged.
            "subjectAttributes",
            "token",
            "tokenFile",
        ])?;
        let session_name = oidc.required_string("sessionName")?.to_string();
        let role = RoleRequest::read(&oidc, session_name)?;
        oidc.strings("subjectAttributes")?;
        let token = token::web_identity_token(&oidc, &self.settings.env).await?;
        let config = sdk::load(
            &self.settings,
            Target {
                provider: NAME,
                region: root.string("region")?,
                default_region: Some(DEFAULT_STS_REGION),
                identity: Identity::Anonymous,
            },
        )
        .await?;
        let call = Call {
            name: "STS AssumeRoleWithWebIdentity",
            endpoint: sdk::endpoint(&self.settings, Service::Sts, &config),
            credentials: None,
        };
        let output = aws_sdk_sts::Client::new(&config)
            .assume_role_with_web_identity()
            .role_arn(role.role_arn)
            .role_session_name(&role.session_name)
            .web_identity_token(token.expose())
            .duration_seconds(role.duration_seconds)
            .set_policy_arns(role.policies())
            .send()
            .await
            .map_err(|err| oidc.error("", call.error(&err, &[&token])))?;
        session(output.credentials(), &oidc)
    }

    async fn assume_role(&self, root: &Object<'_>) -> Result<Opened, ProviderError> {
        let assume = root.required_object("assumeRole")?;
        assume.only(&[
            "roleArn",
            "sessionName",
            "duration",
            "externalId",
            "policyArns",
            "profile",
        ])?;
        let session_name = match assume.string("sessionName")? {
            Some(name) => name.to_string(),
            None => default_session_name(self.settings.env.get("USER").as_deref()),
        };
        let role = RoleRequest::read(&assume, session_name)?;
        let external_id = assume.string("externalId")?;
        let profile = assume.string("profile")?;
        let config = sdk::load(
            &self.settings,
            Target {
                provider: NAME,
                region: root.string("region")?,
                default_region: Some(DEFAULT_STS_REGION),
                identity: Identity::Chain {
                    profile: profile.map(str::to_string),
                },
            },
        )
        .await?;
        let call = Call {
            name: "STS AssumeRole",
            endpoint: sdk::endpoint(&self.settings, Service::Sts, &config),
            credentials: Some(Source {
                needed_by: "`assumeRole`",
                profile,
            }),
        };
        let output = aws_sdk_sts::Client::new(&config)
            .assume_role()
            .role_arn(role.role_arn)
            .role_session_name(&role.session_name)
            .duration_seconds(role.duration_seconds)
            .set_external_id(external_id.map(str::to_string))
            .set_policy_arns(role.policies())
            .send()
            .await
            .map_err(|err| assume.error("", call.error(&err, &[])))?;
        session(output.credentials(), &assume)
    }
}

impl Provider for AwsLogin {
    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>> {
        when_known(inputs, self.open(inputs))
    }
}

/// The parts of `AssumeRole` and `AssumeRoleWithWebIdentity` both share.
struct RoleRequest<'a> {
    role_arn: &'a str,
    session_name: String,
    duration_seconds: i32,
    policy_arns: Vec<&'a str>,
}

impl<'a> RoleRequest<'a> {
    fn read(form: &Object<'a>, session_name: String) -> Result<RoleRequest<'a>, ProviderError> {
        let role_arn = form.required_string("roleArn")?;
        if !role_arn.starts_with("arn:") {
            return Err(form.error(
                "roleArn",
                format_args!("\"{role_arn}\" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
            ));
        }
        let duration = match form.string("duration")? {
            None => DEFAULT_DURATION,
            Some(text) => duration::parse(text).map_err(|e| form.error("duration", e))?,
        };
        if !(MIN_DURATION..=MAX_DURATION).contains(&duration) {
            return Err(form.error(
                "duration",
                format_args!(
                    "{} is outside what STS allows ({} to {})",
                    GoStyle(duration),
                    GoStyle(MIN_DURATION),
                    GoStyle(MAX_DURATION)
                ),
            ));
        }
        Ok(RoleRequest {
            role_arn,
            session_name,
            // In range by the check above.
            duration_seconds: duration.as_secs() as i32,
            policy_arns: form.strings("policyArns")?,
        })
    }

    fn policies(&self) -> Option<Vec<PolicyDescriptorType>> {
        if self.policy_arns.is_empty() {
            return None;
        }
        Some(
            self.policy_arns
                .iter()
                .map(|arn| PolicyDescriptorType::builder().arn(*arn).build())
                .collect(),
        )
    }
}

/// `escsh-<user>`, reduced to the characters STS accepts in a session name,
/// so CloudTrail shows who opened the environment.
fn default_session_name(user: Option<&str>) -> String {
    let user: String = user
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))
        .take(64 - "escsh-".len())
        .collect();
    if user.is_empty() {
        "escsh".to_string()
    } else {
        format!("escsh-{user}")
    }
}

/// Records which outputs are the keys, so the credential endpoint can serve
/// the variables that carry them.
fn mark_credentials(mut opened: Opened) -> Opened {
    opened.credentials = Credential::aws_keys(&opened.value);
    opened
}

/// The `static` form: the keys as given, the secret ones marked secret.
fn static_keys(keys: &Object) -> Result<Value, ProviderError> {
    keys.only(&["accessKeyId", "secretAccessKey", "sessionToken"])?;
    let mut key_id = Value::string(keys.required_string("accessKeyId")?);
    key_id.secret = keys.is_secret("accessKeyId");
    let mut fields = vec![
        ("accessKeyId".to_string(), key_id),
        (
            "secretAccessKey".to_string(),
            Value::string(keys.required_string("secretAccessKey")?).secret(),
        ),
    ];
    if let Some(token) = keys.string("sessionToken")? {
        fields.push(("sessionToken".to_string(), Value::string(token).secret()));
    }
    Ok(Value::object(fields))
}

/// The outputs for STS's temporary credentials.
fn session(credentials: Option<&StsCredentials>, form: &Object) -> Result<Opened, ProviderError> {
    let credentials =
        credentials.ok_or_else(|| form.error("", "STS answered without credentials"))?;
    let expiration = credentials.expiration();
    let rfc3339 = expiration
        .fmt(Format::DateTime)
        .map_err(|_| form.error("", "STS answered with an unrepresentable expiration"))?;
    let value = Value::object([
        (
            "accessKeyId".to_string(),
            Value::string(credentials.access_key_id()),
        ),
        (
            "secretAccessKey".to_string(),
            Value::string(credentials.secret_access_key()).secret(),
        ),
        (
            "sessionToken".to_string(),
            Value::string(credentials.session_token()).secret(),
        ),
        ("expiration".to_string(), Value::string(rfc3339)),
    ]);
    Ok(Opened {
        value,
        expires_at: Some(expiration.secs()),
        credentials: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Kind;
    use crate::providers::aws::test_server::Canned;

    fn open(json: serde_json::Value) -> Result<Opened, ProviderError> {
        let provider = AwsLogin::new(Settings {
            // Nothing listens on port 9 of loopback; a test that got as far
            // as calling STS fails fast instead of reaching AWS.
            endpoint_url: Some("http://127.0.0.1:9".into()),
            env: super::super::Env::fixed::<&str, &str>([]),
        });
        let ctx = Context {
            current_environment: "local/app/dev".into(),
            root_environment: "local/app/dev".into(),
            path: "aws.login".into(),
        };
        let inputs = Value::from_json(&json);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(Provider::open(&provider, &inputs, &ctx))
    }

    fn error(json: serde_json::Value) -> String {
        open(json).unwrap_err().to_string()
    }

    #[test]
    fn static_keys_pass_through_with_secret_flags() {
        let opened = open(serde_json::json!({"static": {
            "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "s3cr3t", "sessionToken": "tok3n"
        }}))
        .unwrap();
        assert_eq!(opened.expires_at, None);
        let v = opened.value;
        assert!(!v.get("accessKeyId").unwrap().secret);
        assert_eq!(v.get("accessKeyId").unwrap().as_str(), Some("AKIDEXAMPLE"));
        assert!(v.get("secretAccessKey").unwrap().secret);
        assert!(v.get("sessionToken").unwrap().secret);
        assert!(!format!("{v:?}").contains("s3cr3t"));
    }

    #[test]
    fn exactly_one_form() {
        assert!(error(serde_json::json!({})).contains("give one of `oidc`"));
        assert_eq!(
            error(serde_json::json!({"oidc": {}, "static": {}})),
            "aws-login: `oidc` and `static` exclude each other; give only one"
        );
        assert_eq!(
            error(serde_json::json!({"odic": {}})),
            "aws-login: odic: unknown property; expected one of: static, oidc, assumeRole, region"
        );
    }

    #[test]
    fn validates_before_calling_sts() {
        assert_eq!(
            error(serde_json::json!({"oidc": {"roleArn": 1, "sessionName": "s"}})),
            "aws-login: oidc.roleArn: expected a string, got number"
        );
        assert_eq!(
            error(serde_json::json!({"oidc": {"roleArn": "arn:aws:iam::1:role/r"}})),
            "aws-login: oidc.sessionName: missing (a string is required)"
        );
        assert_eq!(
            error(serde_json::json!({"assumeRole": {"roleArn": "dev"}})),
            "aws-login: assumeRole.roleArn: \"dev\" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        );
        assert_eq!(
            error(serde_json::json!({"assumeRole": {"roleArn": "arn:aws:iam::1:role/r", "duration": "2d"}})),
            "aws-login: assumeRole.duration: unknown unit \"d\" in duration \"2d\": use h, m, s, ms, us or ns"
        );
        assert_eq!(
            error(
                serde_json::json!({"assumeRole": {"roleArn": "arn:aws:iam::1:role/r", "duration": "5m"}})
            ),
            "aws-login: assumeRole.duration: 5m0s is outside what STS allows (15m0s to 12h0m0s)"
        );
        assert_eq!(
            error(
                serde_json::json!({"oidc": {"roleArn": "arn:aws:iam::1:role/r", "sessionName": "s", "policyArns": "x"}})
            ),
            "aws-login: oidc.policyArns: expected a list of strings, got string"
        );
        assert_eq!(
            error(serde_json::json!({"static": {"accessKeyId": "A"}})),
            "aws-login: static.secretAccessKey: missing (a string is required)"
        );
    }

    #[test]
    fn missing_token_lists_the_sources() {
        let err = error(
            serde_json::json!({"oidc": {"roleArn": "arn:aws:iam::1:role/r", "sessionName": "s"}}),
        );
        assert!(
            err.starts_with("aws-login: oidc: no web identity token"),
            "{err}"
        );
    }

    #[test]
    fn unreachable_sts_is_a_clear_error_without_the_token() {
        let started = std::time::Instant::now();
        let err = error(serde_json::json!({"oidc": {
            "roleArn": "arn:aws:iam::1:role/r", "sessionName": "s", "token": "very-secret-jwt"
        }}));
        assert!(
            err.starts_with(
                "aws-login: oidc: STS AssumeRoleWithWebIdentity: cannot reach http://127.0.0.1:9"
            ),
            "{err}"
        );
        assert!(!err.contains("very-secret-jwt"));
        assert!(started.elapsed() < sdk::TOTAL_TIMEOUT + Duration::from_secs(1));
    }

    #[test]
    fn unknown_inputs_give_an_unknown_value() {
        let mut inputs = Value::from_json(&serde_json::json!({"oidc": {}}));
        if let Kind::Object(map) = &mut inputs.kind {
            map.insert("region".into(), Value::unknown());
        }
        let provider = AwsLogin::new(Settings::default());
        let ctx = Context {
            current_environment: String::new(),
            root_environment: String::new(),
            path: String::new(),
        };
        let opened = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(Provider::open(&provider, &inputs, &ctx))
            .unwrap();
        assert!(opened.value.unknown);
    }

    /// An STS answer as the wire carries it.
    fn sts_error(code: &str, message: &str) -> String {
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>r-1</RequestId></ErrorResponse>"
        )
    }

    const STS_OK: &str = "<AssumeRoleWithWebIdentityResponse \
        xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>\
        <Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>wJalr</SecretAccessKey>\
        <SessionToken>FwoGZX</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration>\
        </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";

    fn open_against(server: &Canned, json: serde_json::Value) -> Result<Opened, ProviderError> {
        let provider = AwsLogin::new(Settings {
            endpoint_url: Some(server.url.clone()),
            env: super::super::Env::fixed::<&str, &str>([]),
        });
        let ctx = Context {
            current_environment: String::new(),
            root_environment: String::new(),
            path: String::new(),
        };
        let inputs = Value::from_json(&json);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(Provider::open(&provider, &inputs, &ctx))
    }

    fn oidc_inputs() -> serde_json::Value {
        serde_json::json!({"region": "eu-west-1", "oidc": {
            "roleArn": "arn:aws:iam::123456789012:role/dev", "sessionName": "wire",
            "token": "wire-secret-jwt", "duration": "45m",
            "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        }})
    }

    #[test]
    fn sts_error_documents_become_code_message_and_hint() {
        for (code, message, hint) in [
            (
                "InvalidIdentityToken",
                "Couldn't retrieve verification key",
                "audience allowed",
            ),
            (
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                "trust policy",
            ),
            (
                "ExpiredTokenException",
                "Token expired: current date/time 1 must be before 0",
                "get a fresh one",
            ),
            (
                "RegionDisabledException",
                "STS is not activated in region eu-west-1",
                "set `region`",
            ),
        ] {
            let server = Canned::serve(vec![(
                "400 Bad Request",
                "text/xml",
                &sts_error(code, message),
            )]);
            let err = open_against(&server, oidc_inputs())
                .unwrap_err()
                .to_string();
            let expected = format!(
                "aws-login: oidc: STS AssumeRoleWithWebIdentity failed: {code} (HTTP 400): {message} ("
            );
            assert!(err.starts_with(&expected), "{err}");
            assert!(err.contains(hint), "{err}");
            assert!(!err.contains("wire-secret-jwt"), "{err}");
            server.requests();
        }
    }

    #[test]
    fn throttling_is_retried_and_the_request_carries_the_inputs() {
        let throttled = sts_error("Throttling", "Rate exceeded");
        let server = Canned::serve(vec![
            ("400 Bad Request", "text/xml", &throttled),
            ("200 OK", "text/xml", STS_OK),
        ]);
        let opened = open_against(&server, oidc_inputs()).unwrap();
        assert_eq!(opened.expires_at, Some(1893553445));
        assert_eq!(
            opened.value.get("expiration").and_then(Value::as_str),
            Some("2030-01-02T03:04:05Z")
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        let body = requests[1].rsplit("\r\n").next().unwrap();
        for part in [
            "Action=AssumeRoleWithWebIdentity",
            "RoleSessionName=wire",
            "DurationSeconds=2700",
            "WebIdentityToken=wire-secret-jwt",
            "PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess",
        ] {
            assert!(body.contains(part), "{part} not in {body}");
        }
        // Unsigned: the web identity call needs no AWS credentials.
        assert!(!requests[1].to_ascii_lowercase().contains("authorization:"));
    }

    #[test]
    fn session_names_default_to_the_user() {
        assert_eq!(default_session_name(Some("alice")), "escsh-alice");
        assert_eq!(default_session_name(Some("a b/c")), "escsh-abc");
        assert_eq!(default_session_name(None), "escsh");
        assert_eq!(default_session_name(Some(&"x".repeat(100))).len(), 64);
    }
}
