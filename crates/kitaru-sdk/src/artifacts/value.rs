//! Reading a stored value back from the files ZenML's materializers wrote.
//!
//! The server hands out an artifact version's directory as a gzip tar archive
//! (`Client::download_artifact_version`). The built-in materializers write
//! plain files that Rust reads as well as Python does:
//!
//! | materializer | files | value |
//! | --- | --- | --- |
//! | `BuiltInMaterializer` (str, int, float, bool, None) | `data.json` | as stored |
//! | `BuiltInContainerMaterializer` (dict, list, tuple, set) | `data.json`, or `metadata.json` + one folder per element when an element is not JSON | elements read with their own materializers; a non-JSON dict is stored as `[keys, values]` |
//! | `BytesMaterializer` | `data.txt` | bytes |
//! | `UUIDMaterializer` | `uuid.txt` | a UUID |
//! | `PydanticMaterializer` | `data_v2.json` (or the double-encoded `data.json` of ZenML <= 0.94.2) | the model's JSON dump |
//! | `DataclassMaterializer` | `data.json` | the dataclass's JSON dump |
//! | `StructuredStringMaterializer` | `output.html` / `.md` / `.csv` / `.json` | a string |
//!
//! Everything else (cloudpickle's `artifact.pkl`, numpy, pandas, custom
//! materializers) needs Python with the value's classes importable; such a
//! value comes back as [`ValueUnavailable`] saying so, never as an empty
//! value.
//!
//! The value is then shown as the Python reference shows a loaded value: JSON
//! when every part converts (tuples as arrays, sets as arrays sorted by
//! `repr`, mapping keys through `str`), otherwise the Python `repr()` of the
//! whole value. Rust reproduces `repr` for these built-in types; two limits:
//! a set's `repr` keeps the stored element order (Python's depends on
//! hashing), and a model's `repr` is rebuilt from its JSON dump.

use std::collections::BTreeMap;
use std::io::Read as _;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::python_repr::{ModelKind, Py};

/// How to read an artifact's `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ValueFormat {
    /// `value` is the value itself, as JSON.
    Json,
    /// The value has no JSON form (bytes, a UUID, a container holding one):
    /// `value` is its Python `repr()` text.
    Repr,
}

/// A stored value, read back.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ArtifactValue {
    /// The value as JSON, or its Python `repr()` text (see `value_format`).
    pub value: Value,
    /// How to read `value`.
    pub value_format: ValueFormat,
}

/// Why a stored value could not be read, in the shape the memory tools
/// report it (`value_available: false` beside it).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ValueUnavailable {
    /// What failed as a whole, e.g. `KitaruArtifactUnavailableError`.
    pub error_type: String,
    /// What went wrong underneath, e.g. `UnsupportedMaterializer`,
    /// `FileNotFoundError`, `JSONDecodeError`.
    pub cause_type: String,
    /// What happened, and where the value can be loaded instead.
    pub message: String,
    /// The cause's own text, kept for [`ValueUnavailable::in_context`].
    #[serde(skip)]
    cause: String,
}

/// The error type of an artifact value that cannot be read.
const ARTIFACT_UNAVAILABLE: &str = "KitaruArtifactUnavailableError";

impl ValueUnavailable {
    /// A value that cannot be read, for this cause; the message is the cause
    /// until [`in_context`](Self::in_context) says whose value it was.
    pub fn new(cause_type: impl Into<String>, cause: impl Into<String>) -> Self {
        let cause_type = cause_type.into();
        let cause = cause.into();
        Self {
            error_type: ARTIFACT_UNAVAILABLE.to_owned(),
            message: format!("{cause_type}: {cause}"),
            cause_type,
            cause,
        }
    }

    /// Says whose value could not be read, worded as the memory tools word
    /// it: `<subject>, but the artifact value could not be loaded from this
    /// environment: <cause_type>: <cause>`.
    pub fn in_context(self, error_type: impl Into<String>, subject: &str) -> Self {
        let message = format!(
            "{subject}, but the artifact value could not be loaded from this environment: {}: {}",
            self.cause_type, self.cause
        );
        Self {
            error_type: error_type.into(),
            message,
            ..self
        }
    }
}

impl ArtifactValue {
    /// Whether a value stored by `materializer` can be read here at all, so
    /// that a value only Python can load is not downloaded for nothing.
    ///
    /// Both arguments are import paths: `module.attribute` of the artifact
    /// version's `materializer` and `data_type`.
    pub fn check_readable(materializer: &str, data_type: &str) -> Result<(), ValueUnavailable> {
        Layout::of(materializer, data_type).map(|_| ())
    }

    /// Reads the value stored by `materializer` from the artifact's archive
    /// (the gzip tar of its directory, as the server sends it).
    pub fn decode(
        archive: &[u8],
        materializer: &str,
        data_type: &str,
    ) -> Result<Self, ValueUnavailable> {
        let layout = Layout::of(materializer, data_type)?;
        let value = layout.load(&Files::unpack("", archive)?, "", data_type)?;
        Ok(Self::shown(&value))
    }

    /// The value as the reference shows a loaded one: JSON when every part
    /// has a JSON form, else its `repr()`.
    fn shown(value: &Py) -> Self {
        match value.to_json() {
            Some(value) => Self {
                value,
                value_format: ValueFormat::Json,
            },
            None => Self {
                value: Value::String(value.repr()),
                value_format: ValueFormat::Repr,
            },
        }
    }
}

/// Where the CLI's config folder keeps local artifact stores.
const LOCAL_STORES: &str = "local_stores";

/// Reads the value of artifact version `artifact_id`, stored at `uri` by
/// `materializer` (import paths for both it and `data_type`).
///
/// From the folder itself when it is on this machine; otherwise the server
/// sends its files, which works for any store the server can read. A value
/// only Python could load is reported without downloading anything.
pub(crate) async fn load(
    kitaru: &crate::Kitaru,
    artifact_id: &str,
    uri: &str,
    materializer: &str,
    data_type: &str,
) -> Result<ArtifactValue, ValueUnavailable> {
    let value = load_py(kitaru, artifact_id, uri, materializer, data_type).await?;
    Ok(ArtifactValue::shown(&value))
}

/// [`load`], giving the value as Python holds it.
pub(crate) async fn load_py(
    kitaru: &crate::Kitaru,
    artifact_id: &str,
    uri: &str,
    materializer: &str,
    data_type: &str,
) -> Result<Py, ValueUnavailable> {
    let layout = Layout::of(materializer, data_type)?;
    // The files are read here only from the local artifact stores of this
    // connection's config folder, resolved: the `uri` is the server's word,
    // and a folder anywhere else is asked of the server like any other.
    let local = std::path::Path::new(uri);
    if local.is_absolute()
        && local.is_dir()
        && let Ok(resolved) =
            crate::confined::existing(&kitaru.connection.config_dir.join(LOCAL_STORES), local)
    {
        return layout.load(&Files::read_dir(&resolved)?, "", data_type);
    }
    match kitaru.client.download_artifact_version(artifact_id).await {
        Ok(archive) => layout.load(&Files::unpack(uri, &archive)?, "", data_type),
        Err(error) => {
            let error = kitaru_client::ApiError::read(error).await;
            if error.status == Some(404) && error.message.contains("does not exist") {
                // The server reads the store, and the folder is gone.
                return layout.load(&Files::none(uri), "", data_type);
            }
            Err(ValueUnavailable::new(
                "ArtifactStoreUnreachable",
                format!(
                    "the files at {uri} are not on this machine, and the server could not send \
                     them ({}{}); load the value where its artifact store is reachable",
                    error
                        .status
                        .map(|status| format!("HTTP {status}: "))
                        .unwrap_or_default(),
                    error.message
                ),
            ))
        }
    }
}

/// The materializers whose files this module reads.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Builtin,
    Container,
    Bytes,
    Uuid,
    Pydantic,
    Dataclass,
    StructuredString,
}

impl Layout {
    fn of(materializer: &str, data_type: &str) -> Result<Self, ValueUnavailable> {
        Ok(match materializer {
            "zenml.materializers.built_in_materializer.BuiltInMaterializer" => Self::Builtin,
            "zenml.materializers.built_in_materializer.BuiltInContainerMaterializer" => {
                Self::Container
            }
            "zenml.materializers.built_in_materializer.BytesMaterializer" => Self::Bytes,
            "zenml.materializers.uuid_materializer.UUIDMaterializer" => Self::Uuid,
            "zenml.materializers.pydantic_materializer.PydanticMaterializer" => Self::Pydantic,
            "zenml.materializers.dataclass_materializer.DataclassMaterializer" => Self::Dataclass,
            "zenml.materializers.structured_string_materializer.StructuredStringMaterializer" => {
                Self::StructuredString
            }
            other => {
                return Err(ValueUnavailable::new(
                    "UnsupportedMaterializer",
                    format!(
                        "a {data_type} value stored by {other} can only be loaded by Python with \
                         that class importable, e.g. `KitaruClient().artifacts.get(<artifact \
                         id>).load()` from the flow's project; this client reads the files of \
                         ZenML's built-in, bytes, UUID, pydantic, dataclass and structured-string \
                         materializers"
                    ),
                ));
            }
        })
    }

    /// Reads the value stored in folder `dir` of the archive ("" for its root).
    fn load(self, files: &Files, dir: &str, data_type: &str) -> Result<Py, ValueUnavailable> {
        match self {
            Self::Builtin => files.json(dir, "data.json"),
            Self::Container => load_container(files, dir, data_type),
            Self::Bytes => Ok(Py::Bytes(files.require(dir, "data.txt")?.to_vec())),
            Self::Uuid => {
                let text = files.text(dir, "uuid.txt")?;
                uuid::Uuid::parse_str(text.trim())
                    .map(|id| Py::Uuid(id.hyphenated().to_string()))
                    .map_err(|e| ValueUnavailable::new("ValueError", format!("uuid.txt: {e}")))
            }
            Self::Pydantic => {
                let dump = if files.get(dir, "data_v2.json").is_some() {
                    files.json(dir, "data_v2.json")?
                } else {
                    // ZenML <= 0.94.2 wrote the model's JSON text as a JSON string.
                    match files.json(dir, "data.json")? {
                        Py::Str(text) => serde_json::from_str(&text).map_err(|e| {
                            ValueUnavailable::new("JSONDecodeError", format!("data.json: {e}"))
                        })?,
                        other => other,
                    }
                };
                Ok(Py::model(data_type, dump, ModelKind::Pydantic))
            }
            Self::Dataclass => Ok(Py::model(
                data_type,
                files.json(dir, "data.json")?,
                ModelKind::Dataclass,
            )),
            Self::StructuredString => {
                let names = ["output.html", "output.md", "output.csv", "output.json"];
                let name = names
                    .into_iter()
                    .find(|name| files.get(dir, name).is_some())
                    .unwrap_or(names[0]);
                Ok(Py::Str(files.text(dir, name)?.to_owned()))
            }
        }
    }
}

/// One element of a container stored element by element (`metadata.json`).
#[derive(Deserialize)]
struct ElementEntry {
    /// Where the element was written: `<container uri>/<index>`.
    path: String,
    /// The element's type, as an import path.
    #[serde(rename = "type")]
    type_: String,
    /// The element's materializer, as an import path.
    materializer: String,
}

fn load_container(files: &Files, dir: &str, data_type: &str) -> Result<Py, ValueUnavailable> {
    let loaded = if files.get(dir, "data.json").is_some() {
        files.json(dir, "data.json")?
    } else if files.get(dir, "metadata.json").is_some() {
        let metadata = files.require(dir, "metadata.json")?;
        let entries: Vec<ElementEntry> = serde_json::from_slice(metadata).map_err(|e| {
            ValueUnavailable::new(
                "RuntimeError",
                format!(
                    "{}: not the element list ZenML > 0.37 writes: {e}",
                    join(dir, "metadata.json")
                ),
            )
        })?;
        let elements = entries
            .iter()
            .map(|entry| {
                let folder = entry.path.rsplit(['/', '\\']).next().unwrap_or_default();
                let element_dir = join(dir, folder);
                Layout::of(&entry.materializer, &entry.type_)?.load(
                    files,
                    &element_dir,
                    &entry.type_,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Py::List(elements)
    } else {
        return Err(ValueUnavailable::new(
            "RuntimeError",
            format!(
                "Materialization of type {} failed. Expected either {} or {} to exist.",
                class_repr(data_type),
                files.path(dir, "data.json"),
                files.path(dir, "metadata.json"),
            ),
        ));
    };
    // Tuples and sets are stored as lists, a dict with non-JSON parts as [keys, values].
    Ok(match (data_type, loaded) {
        ("builtins.tuple", Py::List(items)) => Py::Tuple(items),
        ("builtins.set" | "builtins.frozenset", Py::List(items)) => Py::Set(items),
        ("builtins.dict", Py::List(mut halves)) => match (halves.pop(), halves.pop()) {
            (Some(Py::List(values)), Some(Py::List(keys)))
                if halves.is_empty() && keys.len() == values.len() =>
            {
                Py::Dict(keys.into_iter().zip(values).collect())
            }
            _ => {
                return Err(ValueUnavailable::new(
                    "RuntimeError",
                    "a dict stored element by element must hold two lists of equal length (keys, values)",
                ));
            }
        },
        (_, loaded) => loaded,
    })
}

/// `<class 'dict'>`, `<class 'mod.Type'>`: a type as Python prints it.
fn class_repr(import_path: &str) -> String {
    let name = import_path.strip_prefix("builtins.").unwrap_or(import_path);
    format!("<class '{name}'>")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The regular files of an artifact's folder, by path relative to it.
struct Files {
    /// The folder's URI, for messages ("" when unknown).
    root: String,
    files: BTreeMap<String, Vec<u8>>,
}

impl Files {
    /// The files of a folder on this machine (none when it does not exist).
    fn read_dir(dir: &std::path::Path) -> Result<Self, ValueUnavailable> {
        fn walk(
            dir: &std::path::Path,
            prefix: &str,
            files: &mut BTreeMap<String, Vec<u8>>,
        ) -> std::io::Result<()> {
            let entries = match std::fs::read_dir(dir) {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(error),
            };
            for entry in entries {
                let entry = entry?;
                let name = join(prefix, &entry.file_name().to_string_lossy());
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    walk(&entry.path(), &name, files)?;
                } else if kind.is_file() {
                    files.insert(name, std::fs::read(entry.path())?);
                }
            }
            Ok(())
        }
        let mut files = BTreeMap::new();
        walk(dir, "", &mut files).map_err(|error| {
            ValueUnavailable::new(
                "OSError",
                format!("cannot read the stored files in {}: {error}", dir.display()),
            )
        })?;
        Ok(Self {
            root: dir.to_string_lossy().into_owned(),
            files,
        })
    }

    fn unpack(root: &str, archive: &[u8]) -> Result<Self, ValueUnavailable> {
        let unreadable = |e: std::io::Error| {
            ValueUnavailable::new(
                "ArchiveError",
                format!("the artifact archive the server sent cannot be read: {e}"),
            )
        };
        let mut files = BTreeMap::new();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
        for entry in tar.entries().map_err(unreadable)? {
            let mut entry = entry.map_err(unreadable)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(unreadable)?;
            let path = path
                .components()
                .filter_map(|part| match part {
                    std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("/");
            let mut content = Vec::new();
            entry.read_to_end(&mut content).map_err(unreadable)?;
            files.insert(path, content);
        }
        Ok(Self {
            root: root.to_owned(),
            files,
        })
    }

    /// No files at all: the folder at `root` is gone.
    pub(super) fn none(root: &str) -> Self {
        Self {
            root: root.to_owned(),
            files: BTreeMap::new(),
        }
    }

    fn get(&self, dir: &str, name: &str) -> Option<&[u8]> {
        self.files.get(&join(dir, name)).map(Vec::as_slice)
    }

    /// A file's full path, as Python would name it.
    fn path(&self, dir: &str, name: &str) -> String {
        join(self.root.trim_end_matches('/'), &join(dir, name))
    }

    /// A file the value needs; missing, it is Python's `FileNotFoundError`.
    fn require(&self, dir: &str, name: &str) -> Result<&[u8], ValueUnavailable> {
        self.get(dir, name).ok_or_else(|| {
            ValueUnavailable::new(
                "FileNotFoundError",
                format!(
                    "[Errno 2] No such file or directory: {}",
                    crate::python_repr::str_repr(&self.path(dir, name))
                ),
            )
        })
    }

    fn text(&self, dir: &str, name: &str) -> Result<&str, ValueUnavailable> {
        std::str::from_utf8(self.require(dir, name)?).map_err(|e| {
            ValueUnavailable::new("UnicodeDecodeError", format!("{}: {e}", join(dir, name)))
        })
    }

    fn json<T: DeserializeOwned>(&self, dir: &str, name: &str) -> Result<T, ValueUnavailable> {
        serde_json::from_slice(self.require(dir, name)?).map_err(|e| {
            ValueUnavailable::new("JSONDecodeError", format!("{}: {e}", join(dir, name)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BUILTIN: &str = "zenml.materializers.built_in_materializer.BuiltInMaterializer";
    const CONTAINER: &str =
        "zenml.materializers.built_in_materializer.BuiltInContainerMaterializer";
    const BYTES: &str = "zenml.materializers.built_in_materializer.BytesMaterializer";
    const UUID: &str = "zenml.materializers.uuid_materializer.UUIDMaterializer";
    const PYDANTIC: &str = "zenml.materializers.pydantic_materializer.PydanticMaterializer";
    const CLOUDPICKLE: &str =
        "zenml.materializers.cloudpickle_materializer.CloudpickleMaterializer";

    /// A tar.gz laid out as the server sends it: `./` first, then the files.
    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let mut root = tar::Header::new_gnu();
        root.set_entry_type(tar::EntryType::Directory);
        root.set_size(0);
        root.set_mode(0o755);
        tar.append_data(&mut root, "./", std::io::empty()).unwrap();
        for (path, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, path, *content).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    /// An element entry of `metadata.json`, with an absolute path as ZenML writes it.
    fn element(dir: &str, type_: &str, materializer: &str) -> Value {
        json!({"path": format!("/store/custom/0a1b/{dir}"), "type": type_, "materializer": materializer})
    }

    /// The `metadata.json` of a dict stored as its keys (folder 0) and values (folder 1).
    fn dict_as_keys_and_values() -> String {
        json!([
            element("0", "builtins.list", CONTAINER),
            element("1", "builtins.list", CONTAINER),
        ])
        .to_string()
    }

    fn decode(files: &[(&str, &[u8])], materializer: &str, data_type: &str) -> ArtifactValue {
        ArtifactValue::decode(&archive(files), materializer, data_type).unwrap()
    }

    fn unavailable(
        files: &[(&str, &[u8])],
        materializer: &str,
        data_type: &str,
    ) -> ValueUnavailable {
        ArtifactValue::decode(&archive(files), materializer, data_type).unwrap_err()
    }

    fn as_json(value: Value) -> ArtifactValue {
        ArtifactValue {
            value,
            value_format: ValueFormat::Json,
        }
    }

    fn as_repr(text: &str) -> ArtifactValue {
        ArtifactValue {
            value: Value::String(text.to_owned()),
            value_format: ValueFormat::Repr,
        }
    }

    #[test]
    fn scalars_in_data_json_are_json() {
        let cases: [(&[u8], &str, Value); 5] = [
            (
                br#""h\u00e9llo \u2713 \"q\"""#,
                "builtins.str",
                json!("héllo ✓ \"q\""),
            ),
            (b"42", "builtins.int", json!(42)),
            (b"1e+16", "builtins.float", json!(1e16)),
            (b"true", "builtins.bool", json!(true)),
            (b"null", "builtins.NoneType", Value::Null),
        ];
        for (file, data_type, expected) in cases {
            assert_eq!(
                decode(&[("data.json", file)], BUILTIN, data_type),
                as_json(expected),
                "{data_type}"
            );
        }
    }

    #[test]
    fn json_containers_are_json_with_tuples_as_arrays() {
        let dict = br#"{"topic": "durable agents", "sources": 3, "tags": ["a", "b"]}"#;
        assert_eq!(
            decode(&[("data.json", dict)], CONTAINER, "builtins.dict"),
            as_json(json!({"topic": "durable agents", "sources": 3, "tags": ["a", "b"]}))
        );
        assert_eq!(
            decode(
                &[("data.json", br#"[1, "two", 3.5]"#)],
                CONTAINER,
                "builtins.tuple"
            ),
            as_json(json!([1, "two", 3.5]))
        );
    }

    #[test]
    fn sets_come_back_sorted_by_python_repr() {
        // repr: "'a'" < "10" < "9" (quote sorts before digits; text, not numbers)
        assert_eq!(
            decode(
                &[("data.json", br#"[9, "a", 10]"#)],
                CONTAINER,
                "builtins.set"
            ),
            as_json(json!(["a", 10, 9]))
        );
    }

    #[test]
    fn bytes_are_shown_as_their_repr() {
        assert_eq!(
            decode(&[("data.txt", b"\x00\x01raw'")], BYTES, "builtins.bytes"),
            as_repr(r#"b"\x00\x01raw'""#)
        );
    }

    #[test]
    fn uuids_are_shown_as_their_repr() {
        assert_eq!(
            decode(
                &[("uuid.txt", b"12345678-1234-5678-1234-567812345678")],
                UUID,
                "uuid.UUID"
            ),
            as_repr("UUID('12345678-1234-5678-1234-567812345678')")
        );
    }

    #[test]
    fn a_list_with_bytes_is_read_element_by_element_and_shown_as_repr() {
        let metadata = json!([
            element("0", "builtins.int", BUILTIN),
            element("1", "builtins.bytes", BYTES),
            element("2", "builtins.str", BUILTIN),
            element("3", "builtins.list", CONTAINER),
        ])
        .to_string();
        let files: &[(&str, &[u8])] = &[
            ("metadata.json", metadata.as_bytes()),
            ("0/data.json", b"1"),
            ("1/data.txt", b"\x00raw"),
            ("2/data.json", br#""caf\u00e9 \"q\"""#),
            ("3/data.json", b"[2, 3]"),
        ];
        // What the Python reference returns for [1, b"\x00raw", 'café "q"', [2, 3]].
        assert_eq!(
            decode(files, CONTAINER, "builtins.list"),
            as_repr(r#"[1, b'\x00raw', 'café "q"', [2, 3]]"#)
        );
    }

    #[test]
    fn a_dict_with_bytes_is_stored_as_keys_and_values() {
        let outer = dict_as_keys_and_values();
        let values = json!([
            element("1/0", "builtins.bytes", BYTES),
            element("1/1", "builtins.str", BUILTIN),
        ])
        .to_string();
        let files: &[(&str, &[u8])] = &[
            ("metadata.json", outer.as_bytes()),
            ("0/data.json", br#"["blob", 7]"#),
            ("1/metadata.json", values.as_bytes()),
            ("1/0/data.txt", b"\xffdata"),
            ("1/1/data.json", br#""seven""#),
        ];
        assert_eq!(
            decode(files, CONTAINER, "builtins.dict"),
            as_repr(r#"{'blob': b'\xffdata', 7: 'seven'}"#)
        );
    }

    #[test]
    fn a_dict_of_models_is_json_with_keys_through_str() {
        let outer = dict_as_keys_and_values();
        let values = json!([
            element("1/0", "flows.models.Report", PYDANTIC),
            element("1/1", "builtins.str", BUILTIN),
        ])
        .to_string();
        let files: &[(&str, &[u8])] = &[
            ("metadata.json", outer.as_bytes()),
            ("0/data.json", b"[7, null]"),
            ("1/metadata.json", values.as_bytes()),
            ("1/0/data_v2.json", br#"{"title": "t", "score": 0.5}"#),
            ("1/1/data.json", br#""x""#),
        ];
        assert_eq!(
            decode(files, CONTAINER, "builtins.dict"),
            as_json(json!({"7": {"title": "t", "score": 0.5}, "None": "x"}))
        );
    }

    #[test]
    fn dict_keys_keep_their_stored_order_in_a_repr() {
        let metadata = json!([
            element("0", "builtins.dict", CONTAINER),
            element("1", "builtins.bytes", BYTES),
        ])
        .to_string();
        let files: &[(&str, &[u8])] = &[
            ("metadata.json", metadata.as_bytes()),
            ("0/data.json", br#"{"b": 1, "a": 2}"#),
            ("1/data.txt", b"x"),
        ];
        assert_eq!(
            decode(files, CONTAINER, "builtins.list"),
            as_repr("[{'b': 1, 'a': 2}, b'x']")
        );
    }

    #[test]
    fn pydantic_models_are_their_json_dump() {
        let dump = br#"{"title": "pickled", "score": 0.5, "tags": ["x", "y"]}"#;
        assert_eq!(
            decode(
                &[("data_v2.json", dump)],
                PYDANTIC,
                "flows.extra_pickled.Report"
            ),
            as_json(json!({"title": "pickled", "score": 0.5, "tags": ["x", "y"]}))
        );
    }

    #[test]
    fn pydantic_models_of_old_zenml_are_double_encoded() {
        assert_eq!(
            decode(
                &[("data.json", br#""{\"title\": \"old\"}""#)],
                PYDANTIC,
                "m.Report"
            ),
            as_json(json!({"title": "old"}))
        );
    }

    #[test]
    fn a_model_inside_a_repr_is_shown_as_its_constructor() {
        let metadata = json!([
            element("0", "m.Report", PYDANTIC),
            element("1", "builtins.bytes", BYTES),
        ])
        .to_string();
        let files: &[(&str, &[u8])] = &[
            ("metadata.json", metadata.as_bytes()),
            ("0/data_v2.json", br#"{"title": "t", "tags": ["x"]}"#),
            ("1/data.txt", b"b"),
        ];
        assert_eq!(
            decode(files, CONTAINER, "builtins.tuple"),
            as_repr("(Report(title='t', tags=['x']), b'b')")
        );
    }

    #[test]
    fn pickled_values_are_unavailable_without_downloading_them() {
        let unavailable =
            ArtifactValue::check_readable(CLOUDPICKLE, "flows.docrich.Custom").unwrap_err();
        assert_eq!(unavailable.error_type, "KitaruArtifactUnavailableError");
        assert_eq!(unavailable.cause_type, "UnsupportedMaterializer");
        assert!(
            unavailable.message.contains("flows.docrich.Custom"),
            "{}",
            unavailable.message
        );
        assert!(
            unavailable.message.contains(CLOUDPICKLE),
            "{}",
            unavailable.message
        );
        let files: &[(&str, &[u8])] = &[
            ("artifact.pkl", b"\x80\x05"),
            ("python_version.txt", b"3.11.9"),
        ];
        assert_eq!(
            self::unavailable(files, CLOUDPICKLE, "flows.docrich.Custom"),
            unavailable
        );
    }

    #[test]
    fn a_pickled_element_makes_the_whole_container_unavailable() {
        let metadata = json!([element("0", "flows.docrich.Custom", CLOUDPICKLE)]).to_string();
        let files: &[(&str, &[u8])] = &[
            ("metadata.json", metadata.as_bytes()),
            ("0/artifact.pkl", b"\x80"),
        ];
        let unavailable = unavailable(files, CONTAINER, "builtins.list");
        assert_eq!(unavailable.cause_type, "UnsupportedMaterializer");
    }

    #[test]
    fn a_container_without_its_files_is_unavailable() {
        let unavailable = unavailable(&[], CONTAINER, "builtins.dict");
        assert_eq!(unavailable.cause_type, "RuntimeError");
        assert_eq!(
            unavailable.message,
            "RuntimeError: Materialization of type <class 'dict'> failed. Expected either data.json \
             or metadata.json to exist."
        );
    }

    #[test]
    fn a_missing_file_is_unavailable() {
        let unavailable = unavailable(&[("other.txt", b"x")], BUILTIN, "builtins.str");
        assert_eq!(unavailable.cause_type, "FileNotFoundError");
        assert_eq!(
            unavailable.message,
            "FileNotFoundError: [Errno 2] No such file or directory: 'data.json'"
        );
    }

    #[test]
    fn malformed_json_is_unavailable() {
        assert_eq!(
            unavailable(&[("data.json", b"NaN")], BUILTIN, "builtins.float").cause_type,
            "JSONDecodeError"
        );
    }

    #[test]
    fn a_broken_archive_is_unavailable() {
        let unavailable = ArtifactValue::decode(b"not gzip", BUILTIN, "builtins.str").unwrap_err();
        assert_eq!(unavailable.cause_type, "ArchiveError");
    }

    #[test]
    fn context_names_the_subject_as_the_memory_tools_do() {
        let unavailable =
            ValueUnavailable::new("ModuleNotFoundError", "No module named 'refmodels'").in_context(
                "KitaruMemoryArtifactUnavailableError",
                "Memory key 'k' in scope 's' (namespace) points to artifact 'a'",
            );
        assert_eq!(
            unavailable.error_type,
            "KitaruMemoryArtifactUnavailableError"
        );
        assert_eq!(unavailable.cause_type, "ModuleNotFoundError");
        assert_eq!(
            unavailable.message,
            "Memory key 'k' in scope 's' (namespace) points to artifact 'a', but the artifact value \
             could not be loaded from this environment: ModuleNotFoundError: No module named 'refmodels'"
        );
        assert_eq!(
            serde_json::to_value(&unavailable)
                .unwrap()
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["cause_type", "error_type", "message"]
        );
    }
}
