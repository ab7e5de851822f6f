//! Finding the execution an `exec_id` argument names: a run id (any form of
//! UUID), an exact run name, or a unique prefix of a run id.

use kitaru_client::ApiError;
use kitaru_client::builder::ListRuns;
use kitaru_client::types::{PagePipelineRunResponse, PipelineRunResponse};

use super::InProject;
// Python's `repr()` of a string: how the reference shows a `KeyError`.
use crate::python_repr::str_repr as python_repr;
use crate::{Error, Kitaru};

/// How many prefix matches an ambiguity error lists.
const AMBIGUOUS_SHOWN: i64 = 20;

/// The (hydrated) run `exec_id` names. Boxed: a run is about 20 kB, too
/// much to carry by value through the callers' futures.
///
/// Errors read `Failed to load execution '<exec_id>': <why>`.
pub(crate) async fn find_run(
    kitaru: &Kitaru,
    exec_id: &str,
) -> Result<Box<PipelineRunResponse>, Error> {
    let context = format!("Failed to load execution '{exec_id}'");
    if let Some(id) = canonical_uuid(exec_id) {
        return get_run(kitaru, &id, &context).await;
    }
    let by_name = list_runs(kitaru, |request| request.name(format!("equals:{exec_id}")))
        .await
        .map_err(|e| Error::api(&context, e))?;
    if by_name.total > 1 {
        return Err(Error::NotFound(format!(
            "{context}: {} runs have been found that have a name that matches the provided \
             string '{exec_id}'. Use the id to identify one of them.",
            by_name.total
        )));
    }
    if let Some(run) = by_name.items.into_iter().next() {
        return Ok(Box::new(run));
    }
    let by_prefix = list_runs(kitaru, |request| {
        request.id(format!("startswith:{exec_id}"))
    })
    .await
    .map_err(|e| Error::api(&context, e))?;
    if by_prefix.total > 1 {
        let matches: Vec<String> = by_prefix
            .items
            .iter()
            .map(|run| format!("'{}: {}'", run.name, run.id))
            .collect();
        let scope = project_scope(kitaru).await;
        return Err(Error::NotFound(format!(
            "{context}: {} runs have been found {scope}that have an ID prefix that matches the \
             provided string '{exec_id}':\n[{}].\nPlease provide more characters to uniquely \
             identify only one of the runs.",
            by_prefix.total,
            matches.join(", ")
        )));
    }
    match by_prefix.items.into_iter().next() {
        Some(run) => Ok(Box::new(run)),
        None => {
            // ZenML 0.98 puts a space of its own after the scope.
            let mut scope = project_scope(kitaru).await;
            if !scope.is_empty() {
                scope.push(' ');
            }
            Err(Error::NotFound(format!(
                "{context}: {}",
                python_repr(&format!(
                    "No runs have been found {scope}that have an ID prefix that matches the \
                     provided string '{exec_id}'."
                ))
            )))
        }
    }
}

/// How a lookup's error names where it looked, as ZenML 0.98 words it for
/// kitaru 0.21 (`in project <project> `, followed by a space of ZenML's
/// own); nothing on the 0.10 line.
async fn project_scope(kitaru: &Kitaru) -> String {
    kitaru
        .lookup_project()
        .await
        .map_or_else(String::new, |project| format!("in project {project} "))
}

/// The run with this id, read again (after a change).
pub(crate) async fn reload(
    kitaru: &Kitaru,
    run_id: &str,
) -> Result<Box<PipelineRunResponse>, Error> {
    get_run(
        kitaru,
        run_id,
        &format!("Failed to load execution '{run_id}'"),
    )
    .await
}

async fn get_run(
    kitaru: &Kitaru,
    id: &str,
    context: &str,
) -> Result<Box<PipelineRunResponse>, Error> {
    let answer = kitaru
        .client
        .get_run()
        .run_id(id)
        .hydrate(true)
        .include_full_metadata(false)
        .send()
        .await;
    match answer {
        Ok(run) => Ok(Box::new(run.into_inner())),
        Err(error) => {
            let exception = ApiError::from(error);
            if exception.status == Some(404) {
                // The reference shows the server's KeyError as Python
                // renders it; keep the text identical.
                Err(Error::NotFound(format!(
                    "{context}: {}",
                    python_repr(&exception.message)
                )))
            } else {
                Err(Error::api(context, exception))
            }
        }
    }
}

/// The runs query every lookup and listing starts from: hydrated runs of
/// the project, newest first.
pub(super) fn newest_runs(kitaru: &Kitaru) -> ListRuns<'_> {
    kitaru
        .client
        .list_runs()
        .hydrate(true)
        .include_full_metadata(false)
        .sort_by("desc:created")
        .in_project(kitaru)
}

/// One page of runs, narrowed by `filter`.
async fn list_runs<'a>(
    kitaru: &'a Kitaru,
    filter: impl FnOnce(ListRuns<'a>) -> ListRuns<'a>,
) -> Result<PagePipelineRunResponse, ApiError> {
    let request = filter(newest_runs(kitaru).size(AMBIGUOUS_SHOWN));
    Ok(request.send().await.map_err(ApiError::from)?.into_inner())
}

/// `exec_id` as a canonical UUID, if it is one in any form Python's
/// `uuid.UUID` reads: hyphens anywhere, braces, a `urn:uuid:` prefix.
pub(crate) fn canonical_uuid(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text.strip_prefix("urn:").unwrap_or(text);
    let text = text.strip_prefix("uuid:").unwrap_or(text);
    let hex: String = text
        .trim_matches(|c| c == '{' || c == '}')
        .chars()
        .filter(|c| *c != '-')
        .collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_uuid_form_python_reads_is_a_uuid() {
        let canonical = "610a6dd0-6224-46f0-8b07-854a3b5cff8a";
        for form in [
            canonical,
            "610A6DD0-6224-46F0-8B07-854A3B5CFF8A",
            "610a6dd0622446f08b07854a3b5cff8a",
            "{610a6dd0-6224-46f0-8b07-854a3b5cff8a}",
            "urn:uuid:610a6dd0-6224-46f0-8b07-854a3b5cff8a",
            "610a-6dd0622446f08b07854a3b5cff8a",
        ] {
            assert_eq!(canonical_uuid(form).as_deref(), Some(canonical), "{form}");
        }
    }

    #[test]
    fn names_and_prefixes_are_not_uuids() {
        for text in [
            "610a6dd0",
            "seed_waiting-2026_11_26-13_45_25_425045",
            "",
            "g10a6dd0622446f08b07854a3b5cff8a",
        ] {
            assert_eq!(canonical_uuid(text), None, "{text}");
        }
    }

    #[test]
    fn python_repr_picks_quotes_like_python() {
        assert_eq!(
            python_repr("No runs have been found that match 'nope'."),
            r#""No runs have been found that match 'nope'.""#
        );
        assert_eq!(
            python_repr(
                r#""Unable to get pipeline run with ID '0000': No pipeline run with this ID found""#
            ),
            r#"'"Unable to get pipeline run with ID \'0000\': No pipeline run with this ID found"'"#
        );
        assert_eq!(python_repr("plain"), "'plain'");
        assert_eq!(python_repr("a\\b\nc"), r"'a\\b\nc'");
    }
}
