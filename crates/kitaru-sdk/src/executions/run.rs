//! Running a flow: the user's flow code runs in their Kitaru Python, as a
//! detached process (it outlives the caller; its output goes to a log file).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::execution::Execution;
use super::replay::LaunchOptions;
use super::settle::settle;
use crate::bridge::Job;
use crate::python_repr::str_repr;
use crate::{Error, Kitaru};

/// A flow execution that was started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct FlowRun {
    /// The new execution's id.
    pub exec_id: String,
    /// The flow target, as given.
    pub target: String,
    /// The execution as it stands when the call returns: finished, waiting
    /// for input, or still running after the bound; null when it could not
    /// be read.
    pub execution: Option<Execution>,
    /// Null, or what the caller should know: that the flow raised an error
    /// (its text), or that the execution could not be read yet.
    pub warning: Option<String>,
}

/// Runs the flow `target` (`<module_or_file>:<flow_name>`) with `args` as
/// its inputs, on `stack` (the active stack when `None` or empty)
/// (`kitaru_executions_run`). Returns once the execution exists and has
/// finished, paused on a wait, or run for `options.settle`.
pub async fn run(
    kitaru: &Kitaru,
    target: &str,
    args: &Map<String, Value>,
    stack: Option<&str>,
    options: &LaunchOptions,
) -> Result<FlowRun, Error> {
    check_target(target, &options.working_dir)?;
    let request = json!({
        "target": target,
        "args": args,
        "stack": stack.filter(|stack| !stack.is_empty()),
    });
    let job_options = options.job_options().await?;
    let mut job = Job::start(
        &job_options,
        crate::bridge::connection_env(&kitaru.connection),
        "run",
        &request,
    )?;
    let started = job.until("started", super::replay::START_TIMEOUT).await?;
    let exec_id = started["exec_id"].as_str().unwrap_or_default().to_owned();
    let (execution, mut warning) = match settle(
        kitaru,
        &exec_id,
        options.settle,
        Some(&mut job),
        options.observer.as_ref(),
    )
    .await
    {
        Ok(execution) => (Some(execution), None),
        Err(error) => (
            None,
            Some(format!(
                "Execution started successfully, but details are not available yet: {error}"
            )),
        ),
    };
    if warning.is_none()
        && let Some(message) = job.error_so_far()
    {
        warning = Some(format!("The flow raised an error: {message}"));
    }
    Ok(FlowRun {
        exec_id,
        target: target.to_owned(),
        execution,
        warning,
    })
}

/// The checks a target passes before any Python starts: its form, and for
/// a file, that it exists.
pub(crate) fn check_target(target: &str, working_dir: &Path) -> Result<(), Error> {
    // Without a colon, the flow part is empty.
    let (module, flow) = target.split_once(':').unwrap_or((target, ""));
    if module.is_empty() || flow.is_empty() {
        return Err(Error::argument(
            "target",
            format!(
                "Flow target must use `<module_or_file>:<flow_name>` format (received: {}).",
                str_repr(target)
            ),
        ));
    }
    if module.ends_with(".py") && !working_dir.join(module).is_file() {
        return Err(Error::argument(
            "target",
            format!(
                "Unable to import flow module `{module}`: Flow module path does not exist: \
                 {module} (looked in {}).",
                working_dir.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_need_a_module_and_a_flow() {
        let here = Path::new(".");
        for bad in ["flows", ":flow", "flows:", "", ":"] {
            let error = check_target(bad, here).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("Flow target must use `<module_or_file>:<flow_name>` format"),
                "{bad}: {error}"
            );
        }
        let error = check_target("it's:flow", here);
        assert!(error.is_ok(), "a module target is checked by Python");
        let error = check_target("nope.py:flow", here).unwrap_err().to_string();
        assert!(
            error.contains(
                "Unable to import flow module `nope.py`: Flow module path does not exist: nope.py"
            ),
            "{error}"
        );
        assert!(check_target("flows.research:agent", here).is_ok());
        assert!(
            check_target("a:b:c", here).is_ok(),
            "split at the first colon"
        );
    }

    #[test]
    fn the_received_target_is_quoted_as_python_would() {
        let error = check_target("it's", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(error.contains("(received: \"it's\")"), "{error}");
    }
}
