//! Server URL normalization.

use super::{ConnectionError, Source};

/// Trims whitespace and trailing slashes and checks that `raw` is an
/// `http://` or `https://` URL with a host.
///
/// The trimmed text is returned as it is rather than re-serialized, because
/// the CLI keys `credentials.yaml` by exactly that text.
pub(crate) fn normalize_server_url(raw: &str, from: Source) -> Result<String, ConnectionError> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(ConnectionError::Empty {
            what: "server URL",
            from,
        });
    }
    match url::Url::parse(trimmed) {
        Ok(parsed)
            if matches!(parsed.scheme(), "http" | "https")
                && parsed.host_str().is_some_and(|host| !host.is_empty()) =>
        {
            Ok(trimmed.to_owned())
        }
        _ => Err(ConnectionError::InvalidServerUrl { from }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalize(raw: &str) -> Result<String, ConnectionError> {
        normalize_server_url(raw, Source::Explicit)
    }

    #[test]
    fn trailing_slashes_and_whitespace_are_trimmed() {
        assert_eq!(
            normalize(" https://kitaru.example.com// ").unwrap(),
            "https://kitaru.example.com"
        );
        assert_eq!(
            normalize("http://127.0.0.1:8383/").unwrap(),
            "http://127.0.0.1:8383"
        );
    }

    #[test]
    fn a_path_prefix_is_kept() {
        assert_eq!(
            normalize("https://host/kitaru/").unwrap(),
            "https://host/kitaru"
        );
    }

    #[test]
    fn empty_urls_are_rejected() {
        for raw in ["", "  ", "/", "//"] {
            assert!(
                matches!(
                    normalize(raw),
                    Err(ConnectionError::Empty {
                        what: "server URL",
                        ..
                    })
                ),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn urls_without_http_scheme_or_host_are_rejected() {
        for raw in [
            "kitaru.example.com",
            "localhost:8383",
            "ftp://host",
            "sqlite:///tmp/zenml.db",
            "http://",
        ] {
            assert!(
                matches!(
                    normalize(raw),
                    Err(ConnectionError::InvalidServerUrl { .. })
                ),
                "{raw:?}"
            );
        }
    }
}
