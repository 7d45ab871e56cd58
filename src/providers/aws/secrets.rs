//! `fn::open::aws-secrets`: values from AWS Secrets Manager,
//! `{region?, login?, get: {name: {secretId, versionId?, versionStage?}}}`
//! to `{name: "<secret string>"}`.

use base64::Engine as _;

use super::fetch;
use super::sdk::Service;
use super::{when_known, Settings};
use crate::lang::{BoxFuture, Context, Opened, Provider, ProviderError, Value};

const NAME: &str = "aws-secrets";

pub struct AwsSecrets {
    settings: Settings,
}

impl AwsSecrets {
    pub fn new(settings: Settings) -> AwsSecrets {
        AwsSecrets { settings }
    }

    async fn open(&self, inputs: &Value) -> Result<Opened, ProviderError> {
        let fetch = fetch::prepare(
            NAME,
            inputs,
            &self.settings,
            Service::SecretsManager,
            &["secretId", "versionId", "versionStage"],
        )
        .await?;
        let client = aws_sdk_secretsmanager::Client::new(&fetch.config);
        let call = fetch.call(
            "aws-secrets (no `login` given)",
            "Secrets Manager GetSecretValue",
        );
        let requests = fetch
            .entries
            .iter()
            .map(|(_, entry)| {
                Ok(client
                    .get_secret_value()
                    .secret_id(entry.required_string("secretId")?)
                    .set_version_id(entry.string("versionId")?.map(str::to_string))
                    .set_version_stage(entry.string("versionStage")?.map(str::to_string))
                    .send())
            })
            .collect::<Result<Vec<_>, ProviderError>>()?;
        let answers = fetch::join_all(requests).await;
        let mut values = Vec::with_capacity(answers.len());
        for ((name, entry), answer) in fetch.entries.iter().zip(answers) {
            let output = answer.map_err(|err| entry.error("", call.error(&err, &[])))?;
            // A binary secret has no text form; base64 keeps it intact
            // through environment variables and files.
            let text = match (output.secret_string(), output.secret_binary()) {
                (Some(text), _) => text.to_string(),
                (None, Some(blob)) => {
                    base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
                }
                (None, None) => return Err(entry.error("", "the secret has no value")),
            };
            values.push((name.to_string(), Value::string(text).secret()));
        }
        Ok(fetch::output(values))
    }
}

impl Provider for AwsSecrets {
    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>> {
        when_known(inputs, self.open(inputs))
    }
}
