# The Kitaru SDK's bridge: the few things only the user's Kitaru Python can do
# (run the user's flow code, manage the local server daemon). It decides
# nothing: every plan and check is made by the Rust caller, which starts it as
#
#     python -c <this file> <report-file> <operation> <request-json>
#
# and reads newline-delimited JSON events from <report-file>:
#     {"event": "started", "exec_id": ...}   a run of the flow exists
#     {"event": "done", "result": ...}       the operation finished
#     {"event": "error", "type": ..., "message": ...}
# Its stdout and stderr (the flow's output) go to a log file, never to the
# MCP protocol stream.
import dataclasses
import importlib
import inspect
import json
import os
import sys
import traceback

REPORT_PATH, OPERATION, REQUEST = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
PIPELINE_SOURCE_PREFIX = "__kitaru_pipeline_source_"


def report(event, **fields):
    with open(REPORT_PATH, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        handle.flush()


def source_root_here():
    """User code lives in the working directory: without a Kitaru/ZenML
    repository above it, make it the source root (run with `-c`, this
    process has no main file to take it from)."""
    from zenml.client import Client
    from zenml.utils import source_utils

    if not Client.find_repository():
        source_utils.set_custom_source_root(os.getcwd())


def report_new_runs():
    """Report the id of the first run the flow creates, as soon as it exists."""
    from zenml.zen_stores.rest_zen_store import RestZenStore

    original = RestZenStore.get_or_create_run
    reported = []

    def get_or_create_run(self, pipeline_run):
        run, created = original(self, pipeline_run)
        if not reported:
            reported.append(run.id)
            report("started", exec_id=str(run.id))
        return run, created

    RestZenStore.get_or_create_run = get_or_create_run


def run_flow(request):
    from kitaru._flow_loading import _load_flow_target

    flow = _load_flow_target(request["target"], module_name_prefix="_kitaru_sdk_flow_")
    report_new_runs()
    handle = flow.run(stack=request.get("stack") or None, **request.get("args", {}))
    return {"exec_id": handle.exec_id}


RUNTIME_ONLY_OLD_KITARU = (
    "Replay request includes runtime-only overrides (`code`, targeted `model`, or adapter "
    "`input`), which checkpoints apply while they run: that needs kitaru 0.21 or newer in the "
    "Kitaru Python here. Upgrade kitaru there, or remove those overrides."
)
RUNTIME_ONLY_NO_FLOW = (
    "Replay request includes runtime-only overrides (`code`, targeted `model`, or adapter "
    "`input`), but Kitaru could not resolve the flow wrapper needed to transport "
    "KITARU_REPLAY_CONTEXT. Run replay from the project directory or remove those overrides."
)


def replay_flow(request):
    """Replay with the plan computed by the caller, through the flow's own
    replay (stack guard, frozen execution spec) with its planning replaced."""
    from kitaru.replay import ReplayPlan

    # `kitaru.flow` is also the name of the decorator; the module is here.
    flow_module = sys.modules["kitaru.flow"]

    module_name = request["module"]
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ImportError(
            f"Failed to import replay source module '{module_name}' for execution "
            f"'{request['source']}': {exc}. Run replay from the project directory or "
            "set PYTHONPATH when the source module is local."
        ) from exc
    attribute = request["attribute"]
    candidates = [request["flow"], attribute.removeprefix(PIPELINE_SOURCE_PREFIX), attribute]
    objects = [getattr(module, name, None) for name in candidates]
    plan = request["plan"]
    report_new_runs()
    for target in objects:
        if target is not None and callable(getattr(target, "replay", None)) and hasattr(
            target, "_pipeline"
        ):
            fields = {field.name for field in dataclasses.fields(ReplayPlan)}
            extra = {}
            if "runtime_context" in fields:
                # kitaru 0.21: checkpoints read overrides at run time from a
                # context (the caller's, for its 0.21-form plans).
                from kitaru.replay_context import ReplayRuntimeContext

                context = plan.get("runtime_context")
                extra["runtime_context"] = (
                    ReplayRuntimeContext.from_json(json.dumps(context))
                    if context
                    else ReplayRuntimeContext(at=plan["from"])
                )
                if context:
                    # The caller records the submission's metadata and tag.
                    flow_module.safe_persist_replay_submission_metadata = lambda **_: None
            elif plan.get("needs_runtime_context"):
                raise RuntimeError(RUNTIME_ONLY_OLD_KITARU)
            planned = ReplayPlan(
                original_run_id=request["source"],
                steps_to_skip=set(plan["steps_to_skip"]),
                input_overrides=plan["input_overrides"],
                step_input_overrides=plan["step_input_overrides"],
                **extra,
            )
            flow_module.build_replay_plan = lambda **_: planned
            if "at" in inspect.signature(target.replay).parameters:
                # kitaru 0.21: replay(execution, at=...) answers a submission
                # (one row per replayed execution); the caller does the waiting.
                submission = target.replay(
                    request["source"], at=plan["from"], wait=False, on_error="fail"
                )
                return {"exec_id": str(submission.results[0].replay_exec_id)}
            handle = target.replay(request["source"], from_=plan["from"])
            return {"exec_id": handle.exec_id}
    if plan.get("needs_runtime_context"):
        raise RuntimeError(RUNTIME_ONLY_NO_FLOW)
    pipeline = getattr(module, attribute, None)
    if pipeline is None or not callable(getattr(pipeline, "replay", None)):
        raise LookupError(
            f"Module '{module_name}' has no flow named '{request['flow']}' to replay "
            f"execution '{request['source']}' with."
        )
    run = pipeline.replay(
        pipeline_run=request["source"],
        skip=plan["steps_to_skip"],
        skip_successful_steps=False,
        input_overrides=plan["input_overrides"] or None,
        step_input_overrides=plan["step_input_overrides"] or None,
    )
    return {"exec_id": str(run.id)}


def compile_deployment(request):
    """The flow's source snapshot, as its own deploy makes it; the caller
    checked the stack (over REST) and names and tags the snapshot."""
    from kitaru._flow_loading import _load_deployable_flow_target
    from kitaru._interface_deployments import build_deployment_deploy_kwargs
    from kitaru.client import _DeploymentsAPI

    flow = _load_deployable_flow_target(request["target"], module_name_prefix="_kitaru_sdk_flow_")
    sys.modules["kitaru.flow"].ensure_stack_is_server_runnable = lambda **_: None
    compiled = {}

    def keep_source(self, *, flow, source_snapshot, **_):
        compiled.update(flow=flow, source_snapshot=str(getattr(source_snapshot, "id", source_snapshot)))
        return compiled

    _DeploymentsAPI.create = keep_source
    flow.deploy(
        **build_deployment_deploy_kwargs(
            stack=request.get("stack"),
            image=request.get("image"),
            cache=request.get("cache"),
            retries=request.get("retries"),
            tags=request["tags"],
            inputs=request.get("inputs") or {},
        )
    )
    return compiled


def resume_run(request):
    """Continue a paused run in place: the caller checked it and marked it
    resuming; the orchestrator of the run's stack goes on with it, the
    stack active meanwhile as the Kitaru CLI does it."""
    from zenml.client import Client

    client = Client()
    run = client.get_pipeline_run(request["exec_id"])
    snapshot = run.snapshot
    previous = client.active_stack_model.id
    client.activate_stack(snapshot.stack.id)
    failure = None
    try:
        stack = client.active_stack
        stack.orchestrator.resume_run(snapshot=snapshot, run=run, stack=stack)
    except Exception as exc:
        failure = exc
    try:
        client.activate_stack(previous)
    except Exception as restore:
        first = f"{failure}. " if failure is not None else ""
        raise RuntimeError(
            f"{first}Additionally failed to restore the previous active Kitaru stack: {restore}."
        ) from failure
    if failure is not None:
        raise failure
    return {"exec_id": str(run.id)}


def start_local_server(request):
    from kitaru._local_server import start_or_connect_local_server

    result = start_or_connect_local_server(port=request.get("port"), timeout=request["timeout"])
    return {"url": result.url, "action": result.action}


def stop_local_server(request):
    from kitaru._local_server import stop_registered_local_server

    result = stop_registered_local_server()
    return {"stopped": bool(result.stopped), "url": result.url}


OPERATIONS = {
    "run": run_flow,
    "replay": replay_flow,
    "resume": resume_run,
    "compile_deployment": compile_deployment,
    "start_local_server": start_local_server,
    "stop_local_server": stop_local_server,
}

try:
    source_root_here()
    report("done", result=OPERATIONS[OPERATION](REQUEST))
except BaseException as exc:  # the caller needs every failure, KeyboardInterrupt included
    traceback.print_exc()
    report("error", type=type(exc).__name__, message=str(exc) or type(exc).__name__)
    sys.exit(1)
