//! Secrets: named sets of key/value pairs the server keeps (for model
//! credentials, flow settings). Creating one returns its metadata only;
//! no function here ever returns, logs or reports a value.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use futures_util::{StreamExt as _, TryStreamExt as _};
use kitaru_client::paging::Paged as _;
use kitaru_client::types::SecretResponse;

use crate::error::ApiContext;
use crate::python_repr::Py;
use crate::{Error, ErrorKind, Kitaru};

/// A secret, without its values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SecretSummary {
    /// The secret's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `private` (only its creator sees it) or `public`.
    pub visibility: String,
    /// Its key names, sorted.
    pub keys: Vec<String>,
    /// Whether any key has no value.
    pub has_missing_values: bool,
}

/// Checks the values and turns each into the text the Python SDK would
/// store: Python's `str()` of the value (`true` becomes `"True"`, an object
/// `"{'a': 1}"`). Keys are trimmed env-var style names.
fn texts(values: &Map<String, Value>) -> Result<IndexMap<String, Option<String>>, Error> {
    let refuse = |reason: String| Error::argument("values", reason);
    if values.is_empty() {
        return Err(refuse("Provide at least one secret value.".to_owned()));
    }
    let mut texts = IndexMap::new();
    for (raw_key, value) in values {
        let key = raw_key.trim();
        let mut chars = key.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(refuse(format!(
                "Invalid secret key `{raw_key}`. Use env-var style names (letters, numbers, \
                 underscores; cannot start with a number)."
            )));
        }
        if value.is_null() {
            return Err(refuse(format!(
                "Secret value for key `{key}` cannot be None."
            )));
        }
        let text = serde_json::from_value::<Py>(value.clone())
            .map_err(|e| Error::Unexpected(format!("cannot read the value of `{key}`: {e}")))?
            .str();
        if text.is_empty() {
            return Err(refuse(format!(
                "Secret value for key `{key}` cannot be empty."
            )));
        }
        if texts.contains_key(key) {
            return Err(refuse(format!("Duplicate secret key `{key}`.")));
        }
        texts.insert(key.to_owned(), Some(text));
    }
    Ok(texts)
}

/// Creates the secret `name` with `values` (any JSON but null; stored as
/// Python's `str()` of each, as the Python SDK stores them), public unless
/// `private`. A secret of that name and visibility already existing is a
/// conflict.
pub async fn create(
    kitaru: &Kitaru,
    name: &str,
    values: &Map<String, Value>,
    private: bool,
) -> Result<SecretSummary, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::argument(
            "name",
            "Secret name or ID cannot be empty.",
        ));
    }
    let values = texts(values)?;
    let created = match kitaru
        .client
        .create_secret()
        .body_map(|secret| secret.name(name).private(private).values(values))
        .send()
        .await
    {
        Ok(created) => created.into_inner(),
        Err(error) => {
            let error = kitaru_client::ApiError::read(error).await;
            let exists = error.status == Some(409)
                || error.exception_type.as_deref() == Some("EntityExistsError");
            return Err(if exists {
                Error::Api {
                    context: format!("Secret `{name}` already exists."),
                    kind: ErrorKind::Conflict,
                    status: error.status,
                    detail: "pick another name, or use the existing secret".to_owned(),
                }
            } else {
                Error::api(format!("Failed to create secret `{name}`"), error)
            });
        }
    };
    Ok(summary(&created))
}

/// The secrets the user can see, metadata only, ordered by lower-case
/// name then id, page `page` (from 1) of `size` of them
/// (`kitaru_secrets_list`). Every secret is listed to order them, as the
/// Python SDK does; the server's list carries no values, so the key names
/// of the page's secrets are read from each (the kitaru 0.21 reference
/// shows `keys: []` for all of them). Values are read only to name the
/// keys and never leave this function.
pub async fn list(kitaru: &Kitaru, page: i64, size: i64) -> Result<Vec<SecretSummary>, Error> {
    if page < 1 {
        return Err(Error::argument("page", "`page` must be an integer >= 1."));
    }
    if size < 1 {
        return Err(Error::argument("size", "`size` must be an integer >= 1."));
    }
    let secrets = kitaru
        .client
        .list_secrets()
        .size(LIST_PAGE_SIZE)
        .all()
        .await
        .context("Failed to list secrets")?;
    let mut summaries: Vec<SecretSummary> = secrets.iter().map(summary).collect();
    summaries.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)));
    let skip = usize::try_from((page - 1).saturating_mul(size)).unwrap_or(usize::MAX);
    let take = usize::try_from(size).unwrap_or(usize::MAX);
    let shown = summaries.into_iter().skip(skip).take(take);
    futures_util::stream::iter(shown.map(|listed| with_keys(kitaru, listed)))
        .buffered(READ_AT_ONCE)
        .try_collect()
        .await
}

/// How many secrets are read at once for their key names.
const READ_AT_ONCE: usize = 8;

/// `listed` with its key names, read from the secret itself; as listed if
/// it was deleted meanwhile.
async fn with_keys(kitaru: &Kitaru, listed: SecretSummary) -> Result<SecretSummary, Error> {
    let Ok(id) = uuid::Uuid::parse_str(&listed.id) else {
        return Ok(listed);
    };
    match kitaru.client.get_secret().secret_id(id).send().await {
        Ok(secret) => Ok(summary(&secret.into_inner())),
        Err(error) => {
            let error = kitaru_client::ApiError::from(error);
            if error.status == Some(404) {
                Ok(listed)
            } else {
                Err(Error::api(
                    format!("Failed to read secret `{}`", listed.name),
                    error,
                ))
            }
        }
    }
}

/// How many secrets one list request asks for.
const LIST_PAGE_SIZE: i64 = 200;

/// A secret's metadata: its keys sorted, never its values.
fn summary(secret: &SecretResponse) -> SecretSummary {
    let body = secret.body.as_ref();
    let mut keys: Vec<String> = body
        .map(|body| body.values.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    SecretSummary {
        id: secret.id.to_string(),
        name: secret.name.clone(),
        visibility: if body.is_some_and(|body| body.private) {
            "private"
        } else {
            "public"
        }
        .to_owned(),
        keys,
        has_missing_values: body.is_some_and(|body| body.values.values().any(Option::is_none)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reason(values: Value) -> String {
        match texts(values.as_object().unwrap()).unwrap_err() {
            Error::InvalidArgument { reason, .. } => reason,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn values_are_stored_as_python_str_shows_them() {
        let stored = texts(
            json!({"PORT": 8080, "RATIO": 1.0, "FLAG": true, "OFF": false, " OBJ ": {"nested": 1},
                   "LIST": [1, "x"], "TEXT": "s3cr3t"})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(stored).unwrap(),
            json!({"PORT": "8080", "RATIO": "1.0", "FLAG": "True", "OFF": "False",
                   "OBJ": "{'nested': 1}", "LIST": "[1, 'x']", "TEXT": "s3cr3t"})
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_python_sdks_words() {
        assert_eq!(reason(json!({})), "Provide at least one secret value.");
        assert_eq!(
            reason(json!({"1BAD": "x"})),
            "Invalid secret key `1BAD`. Use env-var style names (letters, numbers, underscores; \
             cannot start with a number)."
        );
        assert_eq!(
            reason(json!({"K": null})),
            "Secret value for key `K` cannot be None."
        );
        assert_eq!(
            reason(json!({"K": ""})),
            "Secret value for key `K` cannot be empty."
        );
        assert_eq!(
            reason(json!({" A": "1", "A": "2"})),
            "Duplicate secret key `A`."
        );
    }
}
