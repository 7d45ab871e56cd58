//! One-line messages for the errors the SDK reports when the source
//! credentials of a call cannot be loaded (`assumeRole`, and the fetch
//! providers without `login`). The SDK's own text for them is a multi-line
//! list followed by its debug structure; users need to know where escsh
//! looked and how to provide credentials.

use std::error::Error;

use aws_credential_types::provider::error::CredentialsError;

use super::message;

/// Who needs the standard chain's credentials, for messages.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    /// e.g. "`assumeRole`".
    pub needed_by: &'a str,
    /// The profile given in the inputs, if any.
    pub profile: Option<&'a str>,
}

impl Source<'_> {
    /// The profile the SDK reads: the input's, `AWS_PROFILE`, or `default`.
    fn profile(&self) -> String {
        self.profile
            .map(str::to_string)
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
            .unwrap_or_else(|| "default".to_string())
    }
}

/// The credentials error somewhere in `err`'s chain of sources.
pub fn find<'e>(err: &'e (dyn Error + 'static)) -> Option<&'e CredentialsError> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(found) = e.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

/// What went wrong with the credentials, and what to do, in one line.
pub fn describe(err: &CredentialsError, source: Option<Source>) -> String {
    let source = source.unwrap_or(Source {
        needed_by: "this call",
        profile: None,
    });
    let needed_by = source.needed_by;
    let profile = source.profile();
    match err {
        CredentialsError::CredentialsNotLoaded(_) => {
            let why = profile_reason(&chain_text(err))
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!(
                "no AWS credentials were found for {needed_by}{why}; escsh looked in the \
                 environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), profile `{profile}` \
                 of the shared config and credentials files (AWS_CONFIG_FILE or ~/.aws/config, \
                 AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials) with its SSO cache and \
                 credential_process, a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE), \
                 container credentials (ECS) and the instance metadata service (IMDS); provide \
                 them with `aws configure` or `aws sso login`, by exporting AWS_ACCESS_KEY_ID \
                 and AWS_SECRET_ACCESS_KEY, or name a profile that has them with AWS_PROFILE{}",
                if needed_by.contains("assumeRole") {
                    " or `assumeRole.profile`"
                } else {
                    ""
                }
            )
        }
        CredentialsError::ProviderTimedOut(_) => format!(
            "loading AWS credentials for {needed_by} (profile `{profile}`) timed out: {}; check \
             its credential_process, or the network for SSO and the metadata service",
            details(err)
        ),
        CredentialsError::InvalidConfiguration(_) => format!(
            "the AWS configuration for {needed_by} (profile `{profile}`) is invalid: {}; fix \
             AWS_CONFIG_FILE or ~/.aws/config",
            details(err)
        ),
        _ => {
            let details = details(err);
            let hint = if details.contains("/sso/cache/") || details.contains("SSO") {
                format!("; sign in with `aws sso login --profile {profile}`")
            } else {
                String::new()
            };
            format!(
                "could not load AWS credentials for {needed_by} (profile `{profile}`): \
                 {details}{hint}"
            )
        }
    }
}

/// The messages of `err`'s sources, without the SDK's generic wrappers, on
/// one line.
fn details(err: &CredentialsError) -> String {
    const GENERIC: [&str; 3] = [
        "an error occurred while loading credentials",
        "the credential provider was not enabled",
        "unexpected credentials error",
    ];
    let text = message::chain(err.source(), &GENERIC);
    if text.is_empty() {
        message::one_line(&err.to_string())
    } else {
        text
    }
}

/// The whole chain's text, lines kept (the SDK lists the providers it
/// tried one per line).
fn chain_text(err: &CredentialsError) -> String {
    let mut text = String::new();
    let mut cause: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = cause {
        text.push_str(&e.to_string());
        text.push('\n');
        cause = e.source();
    }
    text
}

/// Why the profile gave nothing, when the SDK says more than that it was
/// not configured (e.g. "profile `x` was not defined").
fn profile_reason(chain: &str) -> Option<String> {
    let line = chain
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("Profile:"))?;
    let reason = line
        .trim()
        .trim_start_matches("the credential provider was not enabled")
        .trim_start_matches(':')
        .trim();
    (!reason.is_empty()).then(|| reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_reasons_are_taken_from_the_chain_listing() {
        let chain = "no credentials found in chain. Attempted:\n  Environment: the credential \
                     provider was not enabled: environment variable not set\n  Profile: the \
                     credential provider was not enabled: profile `nope` was not defined\n";
        assert_eq!(
            profile_reason(chain).as_deref(),
            Some("profile `nope` was not defined")
        );
        let chain = "x\n  Profile: the credential provider was not enabled\n";
        assert_eq!(profile_reason(chain), None);
    }

    #[test]
    fn not_loaded_lists_where_escsh_looked() {
        let err = CredentialsError::not_loaded("no providers in chain provided credentials");
        let text = describe(
            &err,
            Some(Source {
                needed_by: "`assumeRole`",
                profile: Some("dev"),
            }),
        );
        assert!(
            text.starts_with("no AWS credentials were found for `assumeRole`; escsh looked in"),
            "{text}"
        );
        for place in [
            "AWS_ACCESS_KEY_ID",
            "profile `dev`",
            "SSO",
            "credential_process",
        ] {
            assert!(text.contains(place), "{place}: {text}");
        }
        assert!(!text.contains('\n'));
    }

    #[test]
    fn provider_errors_keep_their_cause_on_one_line() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let err = CredentialsError::provider_error(io);
        let text = describe(
            &err,
            Some(Source {
                needed_by: "aws-secrets (no `login` given)",
                profile: Some("p"),
            }),
        );
        assert_eq!(
            text,
            "could not load AWS credentials for aws-secrets (no `login` given) (profile `p`): \
             No such file"
        );
    }
}
