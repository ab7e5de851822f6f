//! Links into the Kitaru UI, as kitaru 0.21 builds them: the UI's origin
//! from `KITARU_UI_URL`, else from what the server says of itself
//! (`GET /info`: a ZenML Pro workspace's dashboard), else the server's own
//! URL; routes of the local UI (`/flows/...`) or of a Pro workspace
//! (`/kitaru-workspaces/<workspace>/projects/<project>/flows/...`).

use kitaru_client::types::ServerModel;

use crate::Kitaru;

/// The variable that names the UI's origin, winning over the server's word.
const UI_URL_VAR: &str = "KITARU_UI_URL";

/// Where the UI is and which routes it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UiRoutes {
    /// The origin, without a trailing `/`.
    base_url: String,
    /// The Pro workspace whose routes to use; `None` for the local UI's.
    workspace: Option<String>,
}

impl UiRoutes {
    /// The UI of `kitaru`'s server; `None` when no link can be made (a Pro
    /// server that does not say enough, or no HTTP URL to start from).
    /// `KITARU_UI_URL` is read from the environment; the server's
    /// self-description is asked for (a failure counts as none).
    pub(crate) async fn of(kitaru: &Kitaru) -> Option<Self> {
        let info = kitaru
            .client
            .server_info()
            .send()
            .await
            .ok()
            .map(|answer| answer.into_inner());
        let override_url = std::env::var(UI_URL_VAR)
            .ok()
            .filter(|value| !value.trim().is_empty());
        Self::resolve(
            override_url.as_deref(),
            info.as_ref(),
            &kitaru.connection.server_url,
        )
    }

    fn resolve(
        override_url: Option<&str>,
        info: Option<&ServerModel>,
        server_url: &str,
    ) -> Option<Self> {
        let override_url = override_url.and_then(http_base_url);
        let cloud = info.is_some_and(|info| {
            info.deployment_type
                .as_ref()
                .is_some_and(|kind| kind.to_string().trim().eq_ignore_ascii_case("cloud"))
        });
        if cloud {
            // Pro routes, or none: the server's own URL is no UI there.
            let info = info?;
            let workspace = workspace(info)?;
            let base_url = override_url
                .or_else(|| info.pro_dashboard_url.as_deref().and_then(http_base_url))
                .or_else(|| http_origin(&info.dashboard_url))?;
            return Some(Self {
                base_url,
                workspace: Some(workspace),
            });
        }
        let base_url = override_url.or_else(|| http_base_url(server_url))?;
        if is_pro_backend(&base_url) {
            return None;
        }
        Some(Self {
            base_url,
            workspace: None,
        })
    }

    /// The page comparing executions `exec_ids` (two or more; blank ones
    /// left out) of flow `flow_id`, at flow version `version` (blank reads
    /// `local`); Pro routes need the project too.
    pub(crate) fn compare_url(
        &self,
        flow_id: &str,
        exec_ids: &[&str],
        project: Option<&str>,
        version: &str,
    ) -> Option<String> {
        let ids: Vec<&str> = exec_ids
            .iter()
            .map(|id| id.trim())
            .filter(|id| !id.is_empty())
            .collect();
        if ids.len() < 2 {
            return None;
        }
        let version = match version.trim() {
            "" => "local",
            version => version,
        };
        let route = format!(
            "flows/{}/v/{}/compare?executions={}",
            quote(flow_id, ""),
            quote(version, ""),
            quote(&ids.join(","), ",")
        );
        let base = self.base_url.trim_end_matches('/');
        match &self.workspace {
            None => Some(format!("{base}/{route}")),
            Some(workspace) => Some(format!(
                "{base}/kitaru-workspaces/{}/projects/{}/{route}",
                quote(workspace, ""),
                quote(project?, "")
            )),
        }
    }
}

/// The Pro workspace the server names: its name, else the `workspace_name`
/// or `workspace_id` of its metadata, else its id.
fn workspace(info: &ServerModel) -> Option<String> {
    let visible = |value: Option<&str>| {
        value
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    visible(info.pro_workspace_name.as_deref())
        .or_else(|| visible(info.metadata.get("workspace_name").map(String::as_str)))
        .or_else(|| visible(info.metadata.get("workspace_id").map(String::as_str)))
        .or_else(|| info.pro_workspace_id.map(|id| id.to_string()))
}

/// An HTTP(S) URL trimmed of blanks and trailing `/`; `None` for anything else.
fn http_base_url(value: &str) -> Option<String> {
    let url = value.trim().trim_end_matches('/');
    (url.starts_with("http://") || url.starts_with("https://")).then(|| url.to_owned())
}

/// The scheme and host of an HTTP(S) URL.
fn http_origin(value: &str) -> Option<String> {
    let url = url::Url::parse(&http_base_url(value)?).ok()?;
    let host = url.host_str()?;
    let port = url
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    Some(format!("{}://{host}{port}", url.scheme()))
}

/// Whether `url` is a ZenML Pro backend's (a `cloudinfra.zenml.io` host),
/// never a UI.
fn is_pro_backend(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|host| host == "cloudinfra.zenml.io" || host.ends_with(".cloudinfra.zenml.io"))
}

/// Python's `urllib.parse.quote(text, safe)`: UTF-8 bytes other than
/// letters, digits, `_.-~` and those in `safe` as `%XX`.
fn quote(text: &str, safe: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let c = byte as char;
        if c.is_ascii_alphanumeric() || "_.-~".contains(c) || (byte.is_ascii() && safe.contains(c))
        {
            out.push(c);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn info(fields: serde_json::Value) -> ServerModel {
        let mut base = json!({
            "id": null, "name": "default", "version": "0.98.0", "active": true, "debug": false,
            "deployment_type": "local", "database_type": "sqlite", "secrets_store_type": "sql",
            "auth_scheme": "NO_AUTH", "server_url": "", "dashboard_url": "",
            "analytics_enabled": false, "metadata": {},
        });
        base.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn a_local_server_links_to_its_own_ui() {
        let routes =
            UiRoutes::resolve(None, Some(&info(json!({}))), "http://127.0.0.1:8383/").unwrap();
        assert_eq!(
            routes.compare_url("f 1", &["a", " ", "b/c"], None, " "),
            Some("http://127.0.0.1:8383/flows/f%201/v/local/compare?executions=a,b%2Fc".into())
        );
        assert_eq!(routes.compare_url("f", &["a"], None, "local"), None);
        let routes = UiRoutes::resolve(Some(" https://ui.example/ "), None, "http://x").unwrap();
        assert_eq!(
            routes.compare_url("f", &["a", "b"], None, "3"),
            Some("https://ui.example/flows/f/v/3/compare?executions=a,b".into())
        );
        assert_eq!(UiRoutes::resolve(None, None, "ftp://x"), None);
        assert_eq!(
            UiRoutes::resolve(None, None, "https://a.cloudinfra.zenml.io"),
            None
        );
    }

    #[test]
    fn a_pro_server_links_to_its_workspace_or_nowhere() {
        let pro = info(json!({
            "deployment_type": "cloud", "pro_workspace_name": "team",
            "dashboard_url": "https://cloud.zenml.io/workspaces/team/x",
        }));
        let routes = UiRoutes::resolve(None, Some(&pro), "https://a.cloudinfra.zenml.io").unwrap();
        assert_eq!(
            routes.compare_url("f", &["a", "b"], Some("proj"), ""),
            Some(
                "https://cloud.zenml.io/kitaru-workspaces/team/projects/proj/flows/f/v/local/compare?executions=a,b"
                    .into()
            )
        );
        assert_eq!(routes.compare_url("f", &["a", "b"], None, ""), None);
        let anonymous = info(json!({"deployment_type": "cloud"}));
        assert_eq!(
            UiRoutes::resolve(Some("https://ui"), Some(&anonymous), "http://x"),
            None
        );
    }
}
