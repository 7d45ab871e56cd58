//! `fn::open::aws-parameter-store`: values from SSM Parameter Store,
//! `{region?, login?, get: {name: {name: "/path[:version|:label]",
//! decrypt?}}}` to `{name: value}`, a `StringList` becoming a list.

use aws_sdk_ssm::types::ParameterType;

use super::fetch;
use super::sdk::Service;
use super::{when_known, Settings};
use crate::lang::{BoxFuture, Context, Kind, Opened, Provider, ProviderError, Value};

const NAME: &str = "aws-parameter-store";

pub struct AwsParameterStore {
    settings: Settings,
}

impl AwsParameterStore {
    pub fn new(settings: Settings) -> AwsParameterStore {
        AwsParameterStore { settings }
    }

    async fn open(&self, inputs: &Value) -> Result<Opened, ProviderError> {
        let fetch = fetch::prepare(
            NAME,
            inputs,
            &self.settings,
            Service::Ssm,
            &["name", "decrypt"],
        )
        .await?;
        let client = aws_sdk_ssm::Client::new(&fetch.config);
        let call = fetch.call("aws-parameter-store (no `login` given)", "SSM GetParameter");
        let requests = fetch
            .entries
            .iter()
            .map(|(_, entry)| {
                Ok(client
                    .get_parameter()
                    .name(entry.required_string("name")?)
                    // ESC's default: a SecureString stays encrypted unless asked.
                    .with_decryption(entry.bool("decrypt")?.unwrap_or(false))
                    .send())
            })
            .collect::<Result<Vec<_>, ProviderError>>()?;
        let answers = fetch::join_all(requests).await;
        let mut values = Vec::with_capacity(answers.len());
        for ((name, entry), answer) in fetch.entries.iter().zip(answers) {
            let output = answer.map_err(|err| entry.error("", call.error(&err, &[])))?;
            let parameter = output
                .parameter()
                .ok_or_else(|| entry.error("", "SSM answered without the parameter"))?;
            let text = parameter.value().unwrap_or_default();
            let value = match parameter.r#type() {
                Some(ParameterType::StringList) => {
                    Value::new(Kind::Array(text.split(',').map(Value::string).collect()))
                }
                _ => Value::string(text),
            };
            values.push((name.to_string(), value.secret()));
        }
        Ok(fetch::output(values))
    }
}

impl Provider for AwsParameterStore {
    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>> {
        when_known(inputs, self.open(inputs))
    }
}
