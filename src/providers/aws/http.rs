//! The HTTP client every AWS call goes through: hyper with rustls on the
//! ring crypto provider, where the TLS half (and with it the system root
//! certificates, a few milliseconds to load) is built only when a request
//! actually goes to an `https://` URL. Requests to a plain `http://`
//! endpoint (a local STS emulator, a proxy on loopback) never pay for it.

use std::sync::{Arc, OnceLock};

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The shared client; cheap to clone.
pub fn client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            SharedHttpClient::new(SchemeClient {
                plain: aws_smithy_http_client::Builder::new().build_http(),
                tls: aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .build_https(),
            })
        })
        .clone()
}

/// Two hyper clients, one without TLS; the inner clients cache their
/// connectors per settings, so asking them again per request is cheap.
#[derive(Debug)]
struct SchemeClient {
    plain: SharedHttpClient,
    tls: SharedHttpClient,
}

impl HttpClient for SchemeClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(SchemeConnector {
            plain: self.plain.http_connector(settings, components),
            tls: Arc::new(LazyTls {
                client: self.tls.clone(),
                settings: settings.clone(),
                components: components.clone(),
                connector: OnceLock::new(),
            }),
        })
    }
}

#[derive(Debug)]
struct SchemeConnector {
    plain: SharedHttpConnector,
    tls: Arc<LazyTls>,
}

#[derive(Debug)]
struct LazyTls {
    client: SharedHttpClient,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
    connector: OnceLock<SharedHttpConnector>,
}

impl HttpConnector for SchemeConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if is_plain_http(request.uri()) {
            return self.plain.call(request);
        }
        let tls = &self.tls;
        tls.connector
            .get_or_init(|| tls.client.http_connector(&tls.settings, &tls.components))
            .call(request)
    }
}

fn is_plain_http(uri: &str) -> bool {
    uri.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_skip_tls() {
        assert!(is_plain_http("http://127.0.0.1:5000/"));
        assert!(is_plain_http("HTTP://localhost/"));
        assert!(!is_plain_http("https://sts.amazonaws.com/"));
        assert!(!is_plain_http("http"));
    }
}
