//! What the server said when a request failed.
//!
//! A ZenML server answers a failed request with `{"detail": ...}`: the
//! Python exception as `["KeyError", "message"]`, a plain message, or
//! FastAPI's validation report. [`ApiError`] keeps the readable part of any of
//! these, with the HTTP status, or says that there was no answer at all.

use crate::Error;
use crate::types::ErrorBody;

/// A failed request, reduced to what a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The Python exception's class name, when the server named it
    /// (`KeyError`, `ValueError`, `IllegalOperationError`, ...).
    pub exception_type: Option<String>,
    /// The server's message, or the transport error with its causes.
    pub message: String,
    /// Whether the request timed out before an answer came.
    pub timed_out: bool,
}

impl ApiError {
    /// Whether the server rejected a value (Python's `ValueError`,
    /// `TypeError`, pydantic's `ValidationError`, or FastAPI's 422).
    pub fn is_validation(&self) -> bool {
        self.status == Some(422)
            || matches!(
                self.exception_type.as_deref(),
                Some("ValueError" | "TypeError" | "ValidationError")
            )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Like `From`, but also reads the body of an answer the API does not
    /// declare for the operation (e.g. a 501 from a server that cannot
    /// reach its artifact store), which `From` cannot do without waiting.
    pub async fn read(error: Error<ErrorBody>) -> Self {
        match error {
            Error::UnexpectedResponse(answer) => {
                let status = answer.status().as_u16();
                let text = answer.text().await.unwrap_or_default();
                let body: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| serde_json::Value::String(text.trim().to_owned()));
                let (exception_type, message) = exception(&body);
                Self {
                    status: Some(status),
                    exception_type,
                    message,
                    timed_out: false,
                }
            }
            other => other.into(),
        }
    }
}

/// The exception type and message of a ZenML error body.
fn exception(body: &serde_json::Value) -> (Option<String>, String) {
    let detail = body.get("detail").unwrap_or(body);
    match detail.as_array().map(Vec::as_slice) {
        Some(
            [
                serde_json::Value::String(kind),
                serde_json::Value::String(message),
            ],
        ) => (Some(kind.clone()), message.clone()),
        _ => (None, error_detail(body)),
    }
}

impl From<Error<ErrorBody>> for ApiError {
    fn from(error: Error<ErrorBody>) -> Self {
        match error {
            Error::ErrorResponse(answer) => {
                let status = Some(answer.status().as_u16());
                let body = answer.into_inner().0;
                let (exception_type, message) = exception(&body);
                Self {
                    status,
                    exception_type,
                    message,
                    timed_out: false,
                }
            }
            Error::UnexpectedResponse(answer) => Self {
                status: Some(answer.status().as_u16()),
                exception_type: None,
                message: format!(
                    "the server answered HTTP {} ({}), which this operation does not declare",
                    answer.status().as_u16(),
                    answer
                        .status()
                        .canonical_reason()
                        .unwrap_or("unknown status")
                ),
                timed_out: false,
            },
            Error::CommunicationError(error) => Self {
                status: error.status().map(|s| s.as_u16()),
                exception_type: None,
                timed_out: error.is_timeout(),
                message: transport_failure(&error),
            },
            other => Self {
                status: other.status().map(|s| s.as_u16()),
                exception_type: None,
                timed_out: false,
                message: other.to_string(),
            },
        }
    }
}

/// What went wrong on the way to the server, by cause: refused, timed out
/// (naming the setting), DNS, TLS, or the transport's own chain of reasons.
pub fn transport_failure(error: &reqwest::Error) -> String {
    let target = error.url().map_or_else(
        || "the Kitaru server".to_owned(),
        |url| match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
            _ => url.scheme().to_owned(),
        },
    );
    let mut reasons = Vec::new();
    let mut refused = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        let text = cause.to_string();
        if !reasons.iter().any(|known: &String| known.contains(&text)) {
            reasons.push(text);
        }
        source = cause.source();
    }
    let chain = reasons.join(": ");
    let lower = chain.to_lowercase();
    if error.is_timeout() {
        format!(
            "no answer from {target} in time: the request timed out (the connection's HTTP \
             timeout: `http_timeout` in the CLI config's `store` section or \
             ZENML_STORE_HTTP_TIMEOUT, 30 s by default)"
        )
    } else if refused || lower.contains("connection refused") {
        format!("{target} refused the connection: nothing listens there (is the server running?)")
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        format!("the host of {target} could not be resolved (DNS): {chain}")
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        format!("the TLS connection to {target} failed: {chain}")
    } else if error.is_connect() {
        format!("cannot connect to {target}: {chain}")
    } else if chain.is_empty() {
        format!("the request to {target} failed: {error}")
    } else {
        format!("the request to {target} failed: {chain}")
    }
}

/// The readable part of a ZenML error answer: `{"detail": ["Type", "message"]}`,
/// `{"detail": "message"}` or anything else as JSON text.
pub fn error_detail(body: &serde_json::Value) -> String {
    let detail = body.get("detail").unwrap_or(body);
    match detail {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Array(parts) if parts.iter().all(|p| p.is_string()) => parts
            .iter()
            .filter_map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(": "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::transport_failure;

    /// A port nothing listens on (bound, then released).
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test]
    async fn a_refused_connection_says_so() {
        let port = closed_port();
        let error = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/api/v1/info"))
            .send()
            .await
            .unwrap_err();
        let text = transport_failure(&error);
        assert_eq!(
            text,
            format!(
                "http://127.0.0.1:{port} refused the connection: nothing listens there (is the server running?)"
            )
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out_naming_the_setting() {
        // Accepts the connection, never answers: what a hung server does.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let error = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(300))
            .build()
            .unwrap()
            .get(format!("http://127.0.0.1:{port}/api/v1/info"))
            .send()
            .await
            .unwrap_err();
        let text = transport_failure(&error);
        assert!(
            text.starts_with(&format!("no answer from http://127.0.0.1:{port} in time")),
            "{text}"
        );
        assert!(
            text.contains("http_timeout") && text.contains("ZENML_STORE_HTTP_TIMEOUT"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_unknown_host_is_a_dns_failure() {
        let error = reqwest::Client::new()
            .get("http://kitaru-no-such-host.invalid/api/v1/info")
            .send()
            .await
            .unwrap_err();
        let text = transport_failure(&error);
        assert!(
            text.starts_with(
                "the host of http://kitaru-no-such-host.invalid:80 could not be resolved (DNS)"
            ),
            "{text}"
        );
    }
}
