//! The artifact store memory values are written to and read from.
//!
//! The server has no endpoint to upload a value: like the Python SDK, a
//! writer puts the files in the active stack's artifact store itself, then
//! registers the version. This SDK writes to local artifact stores (the
//! default stack's); for any other store it says so before anything is
//! written or registered. Reading prefers the files when they are on this
//! machine and otherwise asks the server for them, which works for every
//! store the server can read.

use std::path::{Path, PathBuf};

use kitaru_client::types::ComponentResponse;

use crate::error::ApiContext as _;
use crate::{Error, Kitaru, stacks};

/// The artifact store of the active stack.
#[derive(Clone, Debug)]
pub(crate) struct ArtifactStore {
    pub(crate) id: uuid::Uuid,
    name: String,
    flavor: String,
    stack: String,
    /// The configured `path` (may be empty for the local flavor).
    path: String,
    /// Where it keeps its files on this machine, for a local store.
    local_root: Option<PathBuf>,
}

/// The folder, inside a store, that values saved by name go to.
const CUSTOM_ARTIFACTS: &str = "custom_artifacts";

impl ArtifactStore {
    /// The active stack's artifact store, with its configuration.
    pub(crate) async fn active(kitaru: &Kitaru) -> Result<Self, Error> {
        let all = stacks::all(kitaru).await?;
        let stack = stacks::active(&all, kitaru.connection.stack.as_deref()).ok_or_else(|| {
            Error::NotFound(match kitaru.connection.stack.as_deref() {
                Some(wanted) => format!(
                    "The active stack '{wanted}' does not exist on the server; pick another \
                     with `kitaru stack use <name>` or KITARU_STACK."
                ),
                None => "The server has no 'default' stack and no stack is active; pick one \
                         with `kitaru stack use <name>` or KITARU_STACK."
                    .to_owned(),
            })
        })?;
        let component_id = stack
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.components.get("artifact_store"))
            .and_then(|components| components.first())
            .map(|component| component.id)
            .ok_or_else(|| {
                Error::State(format!(
                    "The active stack '{}' has no artifact store, so memory cannot be written.",
                    stack.name
                ))
            })?;
        let component = kitaru
            .client
            .get_stack_component()
            .component_id(component_id)
            .hydrate(true)
            .send()
            .await
            .context("Failed to load the active stack's artifact store")?
            .into_inner();
        Ok(Self::from_component(
            &component,
            &stack.name,
            &kitaru.connection.config_dir,
        ))
    }

    fn from_component(component: &ComponentResponse, stack: &str, config_dir: &Path) -> Self {
        let flavor = component
            .body
            .as_ref()
            .map(|body| body.flavor_name.clone())
            .unwrap_or_default();
        let path = component
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.configuration.get("path"))
            .and_then(|path| path.as_str())
            .unwrap_or_default()
            .trim()
            .to_owned();
        // The local flavor without a path keeps its files in the CLI's
        // config directory, under the component's id.
        let local_root = (flavor == "local").then(|| {
            if path.is_empty() {
                config_dir
                    .join("local_stores")
                    .join(component.id.to_string())
            } else {
                PathBuf::from(&path)
            }
        });
        Self {
            id: component.id,
            name: component.name.clone(),
            flavor,
            stack: stack.to_owned(),
            path,
            local_root,
        }
    }

    /// Writes `files` into a new folder for a version of `artifact_name`,
    /// and returns the folder: its URI and its total size. The caller
    /// registers the version, and calls [`Written::discard`] if that fails.
    pub(crate) fn write(
        &self,
        artifact_name: &str,
        files: &[(&str, &[u8])],
    ) -> Result<Written, Error> {
        let Some(root) = &self.local_root else {
            return Err(Error::State(format!(
                "Cannot write memory to the artifact store '{}' (flavor '{}'{}) of the active \
                 stack '{}': this client writes memory only to local artifact stores, and the \
                 server has no upload endpoint. Write this value from Python (`kitaru memory \
                 set`), or use a stack with a local artifact store (`kitaru stack use <name>`). \
                 Nothing was written.",
                self.name,
                self.flavor,
                if self.path.is_empty() {
                    String::new()
                } else {
                    format!(", path '{}'", self.path)
                },
                self.stack,
            )));
        };
        let unwritable = |error: String| {
            Error::State(format!(
                "Cannot write memory to the artifact store '{}' at {}: {error}. Check that this \
                 folder is writable by this user (it is the active stack's local artifact \
                 store). Nothing was registered.",
                self.name,
                root.display()
            ))
        };
        // The folder is made level by level inside the store: the memory
        // name is checked already, and a symlink inside the store cannot
        // lead the write out either.
        let relative = Path::new(CUSTOM_ARTIFACTS)
            .join(artifact_name)
            .join(uuid::Uuid::new_v4().to_string());
        let dir = crate::confined::create_dir(root, &relative)
            .map_err(|error| unwritable(error.to_string()))?;
        let written = Written {
            dir,
            size: files.iter().map(|(_, bytes)| bytes.len() as u64).sum(),
        };
        for (name, bytes) in files {
            if let Err(error) = std::fs::write(written.dir.join(name), bytes) {
                written.discard();
                return Err(unwritable(error.to_string()));
            }
        }
        Ok(written)
    }

    /// Removes the folder of a deleted version of `artifact_name` at `uri`
    /// (as the server stored it), when that folder is where this store
    /// keeps such versions: exactly one level inside
    /// `<root>/custom_artifacts/<artifact_name>/`, resolved. Nothing to do
    /// when there is nothing on this machine to remove; an error, and
    /// nothing removed, for a folder anywhere else.
    pub(crate) fn remove_version(&self, artifact_name: &str, uri: &str) -> Result<(), String> {
        let path = Path::new(uri);
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        if !path.is_absolute() || std::fs::symlink_metadata(path).is_err() {
            return Ok(());
        }
        let versions = root.join(CUSTOM_ARTIFACTS).join(artifact_name);
        let outside = |reason: String| {
            format!(
                "the version's folder {uri} was left in place: {reason}; a purged version's \
                 folder is removed only from {}",
                versions.display()
            )
        };
        let resolved =
            crate::confined::existing(&versions, path).map_err(|e| outside(e.to_string()))?;
        let parent = versions
            .canonicalize()
            .map_err(|e| outside(e.to_string()))?;
        if resolved.parent() != Some(parent.as_path()) || !resolved.is_dir() {
            return Err(outside(format!(
                "it is not a version folder directly inside {}",
                versions.display()
            )));
        }
        std::fs::remove_dir_all(&resolved)
            .map_err(|error| format!("could not remove {}: {error}", resolved.display()))
    }
}

/// A version's folder, written and not yet registered.
pub(crate) struct Written {
    pub(crate) dir: PathBuf,
    pub(crate) size: u64,
}

impl Written {
    /// The folder as the URI to register.
    pub(crate) fn uri(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }

    /// Removes the folder again (registration failed: nothing half-written).
    pub(crate) fn discard(&self) {
        if let Err(error) = std::fs::remove_dir_all(&self.dir)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("could not remove {}: {error}", self.dir.display());
        }
    }
}
