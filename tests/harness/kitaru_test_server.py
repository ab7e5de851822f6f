#!/usr/bin/env python3
"""Provision the pinned Kitaru reference environment of a server line and run
an isolated, seeded, real local Kitaru server for tests.

Subcommands (see tests/harness/README.md):

  provision [--line L]              create/verify the cached reference venv
  up   [--line L] --state-dir DIR [--port N] [--watch-pid PID]
                                    start a private server, seed it, write
                                    DIR/server.json and print its path
  down --state-dir DIR              stop that server (idempotent)

Lines: 0.10 (kitaru 0.10.0 on ZenML 0.94.4, the default) and 0.21 (kitaru
0.21.0 on ZenML 0.98.0), each with a venv of its own.

Standard library only; runs under the system python3 (3.11). stdout carries
exactly one line (the server.json path) for `up`; everything else goes to
stderr. Exit codes: 0 ok, 1 a step failed, 2 bad usage / state.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

HARNESS_DIR = Path(__file__).resolve().parent
FLOWS_DIR = HARNESS_DIR / "flows"
MARKER_NAME = ".kitaru-mcp-provisioned.json"
SERVER_JSON_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Line:
    """A Kitaru server line: the pinned reference environment that runs it."""

    name: str
    kitaru: str
    zenml: str
    # The server's stream broker, where its ZenML streams run events (0.98:
    # `GET /runs/{id}/events/stream` answers 501 without one).
    stream_broker: str | None = None

    @property
    def requirement(self) -> str:
        return f"kitaru[local,mcp]=={self.kitaru}"

    @property
    def constraints(self) -> Path:
        return HARNESS_DIR / f"kitaru-{self.kitaru}-constraints.txt"

    @property
    def versions(self) -> dict[str, str]:
        return {"kitaru": self.kitaru, "zenml": self.zenml}


IN_MEMORY_BROKER = "zenml.zen_server.streaming.brokers.memory.InMemoryBroker"

LINES = {
    line.name: line
    for line in (Line("0.10", kitaru="0.10.0", zenml="0.94.4"), Line("0.21", kitaru="0.21.0", zenml="0.98.0", stream_broker=IN_MEMORY_BROKER))
}
DEFAULT_LINE = "0.10"
LINE_HELP = "the Kitaru server line: 0.10 (kitaru 0.10.0, ZenML 0.94.4) or 0.21 (kitaru 0.21.0, ZenML 0.98.0)"
HOST = "127.0.0.1"  # loopback only, always

WORKLOAD_MANAGER_SOURCE = (
    "zenml.zen_server.pipeline_execution.in_memory_workload_manager."
    "InMemoryWorkloadManager"
)
# Prefixes of inherited environment variables that are dropped so that
# nothing from the caller's own Kitaru/ZenML setup leaks into the server.
SCRUBBED_ENV_PREFIXES = ("ZENML_", "KITARU_")

CHECKPOINT_PREFIX = "__kitaru_checkpoint_source_"
PIPELINE_PREFIX = "__kitaru_pipeline_source_"

# Timeouts (seconds)
LOCK_TIMEOUT = 1800
VENV_CREATE_TIMEOUT = 300
PIP_TIMEOUT = 1800
LOGIN_CLI_TIMEOUT = 120  # passed to `kitaru login --timeout`
LOGIN_PROCESS_TIMEOUT = 240
INIT_TIMEOUT = 120
SEED_TIMEOUT = 600
HEALTH_TIMEOUT = 60
HTTP_TIMEOUT = 30
STOP_TERM_TIMEOUT = 20
STOP_KILL_TIMEOUT = 10
PORT_CLOSE_TIMEOUT = 30
WATCH_POLL_INTERVAL = 1.0

_T0 = time.monotonic()


# ---------------------------------------------------------------------------
# Errors and logging
# ---------------------------------------------------------------------------


class HarnessError(Exception):
    """A failed step, with the log file that explains it."""

    def __init__(
        self,
        step: str,
        message: str,
        *,
        log: Path | str | None = None,
        code: int = 1,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.step = step
        self.message = message
        self.log = str(log) if log else None
        self.code = code
        self.hint = hint


def log(message: str) -> None:
    elapsed = time.monotonic() - _T0
    print(f"[kitaru-test-server +{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


def _tail(path: Path | str | None, lines: int = 25) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


def run_logged(
    cmd: list[str],
    *,
    step: str,
    log_path: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    pass_fds: tuple[int, ...] = (),
) -> None:
    """Run a command with stdin closed and its output appended to a log file.

    Output goes to a file, never a pipe: `kitaru login` leaves a daemon behind
    and a pipe it inherited would never reach EOF. The child runs in its own
    process group, which is killed on timeout or when we are interrupted.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as fh:
        fh.write(f"\n$ (cwd={cwd or os.getcwd()}) {' '.join(cmd)}\n".encode())
        fh.flush()
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(cwd) if cwd else None,
                start_new_session=True,
                pass_fds=pass_fds,
            )
        except OSError as exc:
            raise HarnessError(step, f"cannot execute {cmd[0]}: {exc}", log=log_path)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise HarnessError(
                step, f"timed out after {timeout:.0f}s: {' '.join(cmd)}", log=log_path
            )
        except BaseException:  # interrupted: do not leave the child running
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    if rc != 0:
        raise HarnessError(
            step,
            f"command exited with status {rc}: {' '.join(cmd)}\n--- last lines of {log_path} ---\n"
            + _tail(log_path),
            log=log_path,
        )


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        state = stat.rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, IndexError):
        pass
    return True


def _cmdline(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def _is_our_daemon(pid: int, service_json: Path) -> bool:
    """True if pid is the ZenML daemon started for this state dir."""
    cmdline = _cmdline(pid)
    if cmdline is None:  # no /proc (not Linux): trust the pid file
        return True
    return "local_daemon_entrypoint" in cmdline and f"--config-file {service_json} " in cmdline + " "


# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect((HOST, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        if not port_in_use(port):
            return port
    raise HarnessError("pick port", "could not find a free loopback port")


def wait_port_closed(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_in_use(port):
            return True
        time.sleep(0.25)
    return not port_in_use(port)


class Rest:
    """Tiny REST client for the local server (stdlib urllib)."""

    def __init__(self, base_url: str, step: str, log_path: Path | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token: str | None = None
        self.step = step
        self.log_path = log_path

    def _request(self, method: str, path: str, params: dict | None = None, data: bytes | None = None,
                 headers: dict | None = None) -> Any:
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url, data=data, method=method)
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise HarnessError(self.step, f"{method} {url} -> HTTP {exc.code}: {detail}", log=self.log_path)
        except (urllib.error.URLError, OSError) as exc:
            raise HarnessError(self.step, f"{method} {url} failed: {exc}", log=self.log_path)
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return body.decode("utf-8", "replace")

    def login(self) -> None:
        data = urllib.parse.urlencode({"username": "default", "password": ""}).encode()
        answer = self._request(
            "POST", "/api/v1/login", data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise HarnessError(self.step, f"login answered without access_token: {answer!r}")
        self.token = token

    def get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, {k: v for k, v in params.items() if v is not None})

    def get_all(self, path: str, **params: Any) -> list[dict]:
        items: list[dict] = []
        page = 1
        while True:
            answer = self.get(path, page=page, size=200, **params)
            items.extend(answer["items"])
            if page >= answer.get("total_pages", 1):
                return items
            page += 1


def wait_healthy(url: str, timeout: float, step: str, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise HarnessError(step, f"{url}/health not ready after {timeout:.0f}s ({last})", log=log_path)


# ---------------------------------------------------------------------------
# Provisioning
# ---------------------------------------------------------------------------


def cache_root() -> Path:
    explicit = os.environ.get("KITARU_MCP_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "kitaru-mcp").resolve()


def venv_key(line: Line) -> str:
    try:
        constraints = line.constraints.read_bytes()
    except OSError as exc:
        raise HarnessError("provision", f"cannot read constraints file {line.constraints}: {exc}", code=2)
    digest = hashlib.sha256()
    digest.update(constraints)
    digest.update(line.requirement.encode("utf-8"))
    return digest.hexdigest()[:12]


class Venv:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = path / "bin" / "python"
        self.kitaru = path / "bin" / "kitaru"
        self.kitaru_mcp = path / "bin" / "kitaru-mcp"
        self.marker = path / MARKER_NAME

    def complete(self, key: str, line: Line) -> dict | None:
        try:
            marker = json.loads(self.marker.read_text())
        except (OSError, ValueError):
            return None
        if marker.get("key") != key or marker.get("requirement") != line.requirement:
            return None
        for exe in (self.python, self.kitaru, self.kitaru_mcp):
            if not os.access(exe, os.X_OK):
                return None
        return marker


@contextlib.contextmanager
def file_lock(path: Path, timeout: float, step: str) -> Iterator[int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            if not announced:
                log(f"waiting for lock {path} (another process is provisioning)")
                announced = True
            if time.monotonic() > deadline:
                raise HarnessError(step, f"timed out after {timeout:.0f}s waiting for lock {path}")
            time.sleep(0.5)
        yield fd
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def provision(line: Line) -> tuple[Venv, dict]:
    step = f"provision {line.name}"
    root = cache_root()
    key = venv_key(line)
    venv = Venv(root / f"venv-{key}")
    pip_log = root / f"venv-{key}.pip.log"

    marker = venv.complete(key, line)
    if marker:
        log(f"reference venv ready (cached): {venv.path}")
        return venv, marker

    with file_lock(root / f"venv-{key}.lock", LOCK_TIMEOUT, step) as lock_fd:
        marker = venv.complete(key, line)  # another process may have finished it
        if marker:
            log(f"reference venv ready (built concurrently): {venv.path}")
            return venv, marker

        if venv.path.exists():
            log(f"incomplete venv found at {venv.path}; rebuilding it")
            shutil.rmtree(venv.path)

        base_python = os.environ.get("KITARU_MCP_BASE_PYTHON") or sys.executable
        log(f"creating venv {venv.path} with {base_python}")
        run_logged([base_python, "-m", "venv", str(venv.path)], step=f"{step}: create venv",
                   log_path=pip_log, timeout=VENV_CREATE_TIMEOUT)

        log(f"installing {line.requirement} with constraints {line.constraints.name} "
            f"(1-2 min on a cold cache; log: {pip_log})")
        started = time.monotonic()
        pip_env = dict(os.environ)
        pip_env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        pip_env.pop("PIP_REQUIRE_VIRTUALENV", None)
        run_logged(
            [str(venv.python), "-m", "pip", "install", "--no-input",
             "-c", str(line.constraints), line.requirement],
            step=f"{step}: pip install", log_path=pip_log, timeout=PIP_TIMEOUT, env=pip_env,
            # pip inherits the lock: should we die, an orphaned pip keeps the
            # venv locked until it exits instead of racing a rebuild.
            pass_fds=(lock_fd,),
        )
        log(f"pip install finished in {time.monotonic() - started:.1f}s")

        probe = subprocess.run(
            [str(venv.python), "-c",
             "import json, importlib.metadata as m;"
             "print(json.dumps({d: m.version(d) for d in ('kitaru', 'zenml')}))"],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
        if probe.returncode != 0:
            raise HarnessError(f"{step}: verify", f"version probe failed: {probe.stderr.strip()}", log=pip_log)
        versions = json.loads(probe.stdout.strip().splitlines()[-1])
        if versions != line.versions:
            raise HarnessError(
                f"{step}: verify", f"installed versions {versions} != expected {line.versions}", log=pip_log
            )
        for exe in (venv.kitaru, venv.kitaru_mcp):
            if not os.access(exe, os.X_OK):
                raise HarnessError(f"{step}: verify", f"missing executable {exe}", log=pip_log)

        marker = {
            "key": key,
            "requirement": line.requirement,
            "constraints_sha256": hashlib.sha256(line.constraints.read_bytes()).hexdigest(),
            "versions": versions,
            "base_python": base_python,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        tmp = venv.marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(marker, indent=2))
        os.replace(tmp, venv.marker)
        log(f"reference venv ready: {venv.path}")
        return venv, marker


# ---------------------------------------------------------------------------
# Server lifecycle
# ---------------------------------------------------------------------------


def server_env(config_dir: Path) -> dict[str, str]:
    """Variables that select this isolated server (also what clients need)."""
    return {
        "ZENML_CONFIG_PATH": str(config_dir),
        "KITARU_ANALYTICS_OPT_IN": "false",
        "ZENML_ANALYTICS_OPT_IN": "false",
    }


def process_env(config_dir: Path, *, server: bool = False, stream_broker: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_ENV_PREFIXES)}
    env.update(server_env(config_dir))
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_COLOR"] = "1"
    if server:
        env["ZENML_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE"] = WORKLOAD_MANAGER_SOURCE
        if stream_broker:
            env["ZENML_SERVER_STREAM_BROKER_IMPLEMENTATION_SOURCE"] = stream_broker
    return env


def _paths(state_dir: Path) -> dict[str, Path]:
    config = state_dir / "config"
    daemon = config / "zen_server" / "daemon"
    logs = state_dir / "logs"
    return {
        "config": config,
        "project": state_dir / "project",
        "logs": logs,
        "pid_file": daemon / "service.pid",
        "service_json": daemon / "service.json",
        "daemon_log": daemon / "service.log",
        "login_log": logs / "login.log",
        "init_log": logs / "init.log",
        "seed_log": logs / "seed.log",
        "watch_log": logs / "watch.log",
        "auth_pid_file": state_dir / "auth-server.pid",
        "auth_log": logs / "auth-server.log",
        "seed_report": state_dir / "seed-report.json",
        "server_json": state_dir / "server.json",
    }


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _known_port(paths: dict[str, Path]) -> int | None:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return int(json.loads(paths["server_json"].read_text())["port"])
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return int(json.loads(paths["service_json"].read_text())["config"]["server"]["port"])
    return None


def _terminate(pid: int, what: str, log_path: Path) -> None:
    """SIGTERM, then SIGKILL after a grace period; fails if pid survives both."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TERM_TIMEOUT
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        log(f"{what} {pid} ignored SIGTERM for {STOP_TERM_TIMEOUT}s; sending SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + STOP_KILL_TIMEOUT
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    if pid_alive(pid):
        raise HarnessError("down", f"{what} pid {pid} is still alive", log=log_path)


def _environ(pid: int) -> dict[str, str]:
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/environ").read_bytes()
        return dict(item.split("=", 1) for item in raw.decode("utf-8", "replace").split("\0") if "=" in item)
    return {}


def _stop_auth_server(paths: dict[str, Path]) -> None:
    pid = _read_pid(paths["auth_pid_file"])
    if pid is None or not pid_alive(pid):
        return
    # Only a process serving this state dir's database is ours to stop.
    if not _environ(pid).get("ZENML_LOCAL_STORES_PATH", "").startswith(str(paths["config"])):
        log(f"pid {pid} from {paths['auth_pid_file']} is not this state dir's auth server; not touching it")
        return
    log(f"stopping auth server pid {pid}")
    _terminate(pid, "auth server", paths["auth_log"])


def start_auth_server(venv: "Venv", paths: dict[str, Path], daemon_pid: int, rest: "Rest") -> dict:
    """A second server process over the same database, with authentication on.

    The local daemon always runs without authentication, so logins, API keys
    and token expiry can only be tested against a server started like this:
    the daemon's own environment, with the OAuth2 password-bearer scheme.
    """
    env = {k: v for k, v in _environ(daemon_pid).items() if k.startswith(("ZENML_", "KITARU_"))}
    if not env.get("ZENML_LOCAL_STORES_PATH"):
        raise HarnessError("auth server", f"cannot read the daemon's environment (/proc/{daemon_pid}/environ)")
    env.update({
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "ZENML_SERVER_AUTH_SCHEME": "OAUTH2_PASSWORD_BEARER",
        "ZENML_SERVER_JWT_SECRET_KEY": os.urandom(32).hex(),
        "PYTHONUNBUFFERED": "1",
    })
    port = free_port()
    url = f"http://{HOST}:{port}"
    with open(paths["auth_log"], "ab") as log_file:
        proc = subprocess.Popen(
            [str(venv.python), "-m", "uvicorn", "zenml.zen_server.zen_server_api:app",
             "--host", HOST, "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env,
            cwd=str(paths["config"]), start_new_session=True,
        )
    paths["auth_pid_file"].write_text(str(proc.pid))
    wait_healthy(url, HEALTH_TIMEOUT, "auth server (health check)", paths["auth_log"])
    # A service account with an API key, made through the unauthenticated daemon.
    account = rest._request(
        "POST", "/api/v1/service_accounts",
        data=json.dumps({"name": "kitaru-mcp-tests", "active": True}).encode(),
        headers={"Content-Type": "application/json"},
    )
    key = rest._request(
        "POST", f"/api/v1/service_accounts/{account['id']}/api_keys",
        data=json.dumps({"name": "tests"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    return {
        "server_url": url,
        "pid": proc.pid,
        "username": "default",
        "password": "",
        "service_account": account["name"],
        "api_key": key["body"]["key"],
    }


def stop_server(state_dir: Path) -> bool:
    """Stop the daemon of state_dir and wait for its port to close.

    Returns True if a running daemon was stopped, False if none was running.
    """
    paths = _paths(state_dir)
    port = _known_port(paths)
    pid = _read_pid(paths["pid_file"])
    if pid is None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            pid = int(json.loads(paths["server_json"].read_text())["pid"])

    _stop_auth_server(paths)
    stopped = False
    if pid is not None and pid_alive(pid):
        if not _is_our_daemon(pid, paths["service_json"]):
            log(f"pid {pid} from {paths['pid_file']} is not this state dir's server daemon; not touching it")
        else:
            log(f"stopping server daemon pid {pid}")
            _terminate(pid, "server daemon", paths["daemon_log"])
            stopped = True
    if port is not None and not wait_port_closed(port, PORT_CLOSE_TIMEOUT):
        raise HarnessError(
            "down", f"port {port} still open {PORT_CLOSE_TIMEOUT}s after stopping the daemon",
            log=paths["daemon_log"],
        )
    return stopped


# ---------------------------------------------------------------------------
# Reading the seeded facts back over REST
# ---------------------------------------------------------------------------


def _strip(name: str | None, prefix: str) -> str | None:
    if name is None:
        return None
    return name[len(prefix):] if name.startswith(prefix) else name


def _visualized_value(rest: Rest, artifact_version_id: str) -> Any:
    answer = rest.get(f"/api/v1/artifact_versions/{artifact_version_id}/visualize", index=0)
    if not isinstance(answer, dict) or answer.get("type") != "json":
        raise HarnessError(rest.step, f"artifact {artifact_version_id}: unexpected visualization {answer!r}")
    return json.loads(answer["value"])


def _check(rest: Rest, condition: bool, message: str) -> None:
    if not condition:
        raise HarnessError(rest.step, message, log=rest.log_path)


def _describe_artifact(rest: Rest, version_id: str, output_name: str, checkpoint: str) -> dict:
    version = rest.get(f"/api/v1/artifact_versions/{version_id}", hydrate="true")
    body, metadata = version["body"], version.get("metadata") or {}
    run_metadata = metadata.get("run_metadata") or {}
    data_type = body.get("data_type") or {}
    kind = run_metadata.get("kitaru_artifact_type")
    return {
        "artifact_id": version["id"],
        "name": body["artifact"]["name"],
        "output_name": output_name,
        "checkpoint": checkpoint,
        "save_type": body.get("save_type"),
        "kind": kind if isinstance(kind, str) else None,
        "value_type": f"{data_type.get('module')}.{data_type.get('attribute')}",
        "metadata": run_metadata,
        "value": _visualized_value(rest, version["id"]),
    }


def _describe_run(rest: Rest, run: dict) -> dict:
    run_id = run["id"]
    steps = rest.get_all("/api/v1/steps", pipeline_run_id=run_id, hydrate="true", sort_by="asc:created")
    pipeline = (run.get("resources") or {}).get("pipeline") or {}
    checkpoints, artifacts = [], []
    for step in steps:
        name = _strip(step["name"], CHECKPOINT_PREFIX)
        entry = {
            "call_id": step["id"],
            "name": name,
            "status": step["body"]["status"],
            "checkpoint_type": step["body"].get("type"),
            "artifact_ids": [],
        }
        exception = (step.get("metadata") or {}).get("exception_info")
        if exception:
            entry["exception_message"] = exception.get("message")
        outputs = (step.get("resources") or {}).get("outputs") or {}
        for output_name, versions in outputs.items():
            for version in versions:
                if version["id"] in entry["artifact_ids"]:
                    continue
                entry["artifact_ids"].append(version["id"])
                artifacts.append(_describe_artifact(rest, version["id"], output_name, name))
        checkpoints.append(entry)
    return {
        "exec_id": run_id,
        "name": run["name"],
        "flow_id": pipeline.get("id"),
        "flow_name": _strip(pipeline.get("name"), PIPELINE_PREFIX),
        "status": run["body"]["status"],
        "status_reason": run["body"].get("status_reason"),
        "checkpoint_names": [c["name"] for c in checkpoints],
        "checkpoints": checkpoints,
        "artifacts": artifacts,
    }


def collect_seed(rest: Rest, report: dict) -> dict:
    expected = report["expected"]
    current_user = rest.get("/api/v1/current-user")

    runs = rest.get_all("/api/v1/runs", hydrate="true", sort_by="asc:created")
    by_flow: dict[str, list[dict]] = {}
    for run in runs:
        pipeline = (run.get("resources") or {}).get("pipeline") or {}
        by_flow.setdefault(_strip(pipeline.get("name"), PIPELINE_PREFIX) or "", []).append(run)

    def only_run(flow: str) -> dict:
        found = by_flow.get(flow, [])
        _check(rest, len(found) == 1, f"expected exactly one run of flow {flow!r}, found {len(found)}")
        return found[0]

    # -- completed -------------------------------------------------------------
    run = only_run(expected["completed_flow"])
    _check(rest, run["id"] == report["completed"]["exec_id"], "completed run id differs from the SDK handle")
    _check(rest, run["body"]["status"] == "completed", f"completed run has status {run['body']['status']}")
    completed = _describe_run(rest, run)
    completed["kitaru_status"] = "completed"
    completed["result"] = report["completed"]["result"]
    outputs = expected["checkpoint_outputs"]
    for checkpoint, by_output in outputs.items():
        for output_name, value in by_output.items():
            matches = [a for a in completed["artifacts"]
                       if a["checkpoint"] == checkpoint and a["output_name"] == output_name]
            _check(rest, len(matches) == 1, f"{checkpoint}.{output_name}: {len(matches)} artifacts found")
            _check(rest, matches[0]["value"] == value,
                   f"{checkpoint}.{output_name}: server value {matches[0]['value']!r} != expected {value!r}")
            _check(rest, matches[0]["save_type"] == "step_output", f"{checkpoint}.{output_name}: not a step output")
    saved = expected["saved"]
    matches = [a for a in completed["artifacts"] if a["name"] == saved["name"]]
    _check(rest, len(matches) == 1, f"kitaru.save artifact {saved['name']!r}: {len(matches)} found")
    _check(rest, matches[0]["kind"] == saved["type"] and matches[0]["save_type"] == "manual"
           and matches[0]["checkpoint"] == saved["checkpoint"] and matches[0]["value"] == saved["value"],
           f"kitaru.save artifact differs from expectation: {matches[0]!r}")
    completed["saved_artifact"] = matches[0]
    for checkpoint, ctype in expected["checkpoint_types"].items():
        found = [c for c in completed["checkpoints"] if c["name"] == checkpoint]
        _check(rest, bool(found) and found[0]["checkpoint_type"] == ctype, f"checkpoint {checkpoint} type != {ctype}")
    _check(rest, all(c["status"] == "completed" for c in completed["checkpoints"]), "a checkpoint did not complete")

    # -- failed ----------------------------------------------------------------
    run = only_run(expected["failed_flow"])
    _check(rest, run["body"]["status"] == "failed", f"failed run has status {run['body']['status']}")
    failed = _describe_run(rest, run)
    failed["kitaru_status"] = "failed"
    failed_steps = [c for c in failed["checkpoints"] if c["status"] == "failed"]
    _check(rest, len(failed_steps) == 1 and failed_steps[0]["name"] == expected["failed_checkpoint"],
           f"unexpected failed checkpoints {failed_steps!r}")
    failed["failed_checkpoint"] = {"call_id": failed_steps[0]["call_id"], "name": failed_steps[0]["name"]}
    run_exception = (run.get("metadata") or {}).get("exception_info") or {}
    failed["exception_message"] = run_exception.get("message") or failed_steps[0].get("exception_message")
    failed["exception_source"] = run_exception.get("source")
    _check(rest, failed["exception_message"] == expected["failure_message"],
           f"failed run exception message {failed['exception_message']!r}")

    # -- waiting ---------------------------------------------------------------
    run = only_run(expected["waiting_flow"])
    _check(rest, run["id"] == report["waiting"]["exec_id"], "waiting run id differs from the SDK handle")
    _check(rest, run["body"]["status"] == "paused", f"waiting run has status {run['body']['status']} (want paused)")
    waiting = _describe_run(rest, run)
    waiting["kitaru_status"] = "waiting"
    conditions = rest.get_all("/api/v1/run_wait_conditions", pipeline_run=run["id"], status="pending",
                              hydrate="true", sort_by="asc:created")
    _check(rest, len(conditions) == 1, f"waiting run has {len(conditions)} pending wait conditions")
    cond = conditions[0]
    cond_meta = cond.get("metadata") or {}
    want = expected["wait"]
    waiting["wait"] = {
        "wait_id": cond["id"],
        "name": cond["name"],
        "question": cond_meta.get("question"),
        "schema": cond_meta.get("data_schema"),
        "metadata": cond_meta.get("run_metadata"),
        "status": cond["body"]["status"],
        "type": cond["body"].get("type"),
        "entered_waiting_at": cond["body"].get("created"),
    }
    before = [a for a in waiting["artifacts"] if a["checkpoint"] == want["checkpoint_before"]]
    _check(rest, len(before) == 1 and before[0]["value"] == want["checkpoint_before_output"],
           f"waiting run: output of {want['checkpoint_before']!r} differs: {before!r}")
    _check(rest, waiting["wait"]["name"] == want["name"] and waiting["wait"]["question"] == want["question"]
           and waiting["wait"]["schema"] == want["schema"] and waiting["wait"]["metadata"] == want["metadata"],
           f"wait condition differs from expectation: {waiting['wait']!r}")

    # -- memory ----------------------------------------------------------------
    mem = report["memory"]
    scope, scope_type = mem["scope"], mem["scope_type"]
    versions = rest.get_all("/api/v1/artifact_versions", tag=f"kitaru:memory:scope:{scope}",
                            hydrate="true", sort_by="asc:created")
    prefix = f"kitaru_mem:{scope_type}:{scope}:"
    keys: dict[str, dict] = {}
    for version in versions:
        name = version["body"]["artifact"]["name"]
        if not name.startswith(prefix):
            continue
        key = name[len(prefix):]
        run_metadata = (version.get("metadata") or {}).get("run_metadata") or {}
        data_type = version["body"].get("data_type") or {}
        entry = keys.setdefault(key, {"artifact_name": name, "artifact_id": version["body"]["artifact"]["id"],
                                      "versions": []})
        entry["versions"].append({
            "version": int(version["body"]["version"]),
            "artifact_version_id": version["id"],
            "is_deleted": run_metadata.get("kitaru_memory_deleted") is True,
            "value_type": data_type.get("attribute"),
            "value": _visualized_value(rest, version["id"]),
            "created": version["body"].get("created"),
        })
    expected_history: dict[str, list] = {}
    for key, value in mem["writes"]:
        expected_history.setdefault(key, []).append(value)
    _check(rest, sorted(keys) == sorted(expected_history),
           f"memory keys on the server {sorted(keys)} != written {sorted(expected_history)}")
    for key, entry in keys.items():
        entry["versions"].sort(key=lambda v: v["version"])
        got = [None if v["is_deleted"] else v["value"] for v in entry["versions"]]
        _check(rest, got == expected_history[key], f"memory key {key!r}: versions {got!r} != {expected_history[key]!r}")
        _check(rest, [v["version"] for v in entry["versions"]] == list(range(1, len(got) + 1)),
               f"memory key {key!r}: unexpected version numbers")
        latest = entry["versions"][-1]
        entry["latest_version"] = latest["version"]
        entry["is_deleted"] = latest["is_deleted"]
        entry["value"] = None if latest["is_deleted"] else latest["value"]
    memory = {
        "written_by": mem["written_by"],
        "scope": scope,
        "scope_type": scope_type,
        "keys": keys,
        "live_keys": sorted(k for k, e in keys.items() if not e["is_deleted"]),
        "deleted_keys": sorted(k for k, e in keys.items() if e["is_deleted"]),
        "multi_version_keys": sorted(k for k, e in keys.items() if len(e["versions"]) > 1),
    }

    # -- secret ----------------------------------------------------------------
    want_secret = report["secret"]
    listed = rest.get_all("/api/v1/secrets", name=want_secret["name"])
    _check(rest, len(listed) == 1, f"secret {want_secret['name']!r}: {len(listed)} found")
    full = rest.get(f"/api/v1/secrets/{listed[0]['id']}")
    values = (full.get("body") or {}).get("values") or {}
    _check(rest, listed[0]["id"] == want_secret["id"], "secret id differs from the SDK answer")
    _check(rest, values == want_secret["values"], "secret values on the server differ from what was written")
    secret = {
        "id": listed[0]["id"],
        "name": listed[0]["name"],
        "visibility": "private" if (full.get("body") or {}).get("private") else "public",
        "keys": sorted(values),
    }

    # -- project, stack, user ----------------------------------------------------
    project_id = runs[0]["body"]["project_id"]
    project = rest.get(f"/api/v1/projects/{project_id}")
    stack_ref = (runs[0].get("resources") or {}).get("stack") or {}
    _check(rest, bool(stack_ref.get("id")), "runs carry no stack")
    stack = rest.get(f"/api/v1/stacks/{stack_ref['id']}")

    return {
        "project": {"id": project["id"], "name": project["name"]},
        "stack": {"id": stack["id"], "name": stack["name"]},
        "user": {"id": current_user["id"], "name": current_user["name"]},
        "completed": completed,
        "failed": failed,
        "waiting": waiting,
        "memory": memory,
        "secret": secret,
        "secret_values": dict(values),
        "run_count": len(runs),
    }


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def cmd_provision(args: argparse.Namespace) -> int:
    venv, marker = provision(LINES[args.line])
    log(f"python: {venv.python}; versions: {marker.get('versions')}")
    return 0


def _atomic_write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def cmd_up(args: argparse.Namespace) -> int:
    line = LINES[args.line]
    state_dir = Path(args.state_dir).expanduser().resolve()
    paths = _paths(state_dir)
    if args.watch_pid is not None and not pid_alive(args.watch_pid):
        raise HarnessError("up", f"--watch-pid {args.watch_pid}: no such process", code=2)
    if paths["config"].exists() or paths["server_json"].exists():
        raise HarnessError(
            "up", f"state dir {state_dir} was already used (config/ or server.json exists); "
            f"run `down --state-dir {state_dir}` and use a fresh directory", code=2,
        )
    if args.port is not None:
        if not 1024 <= args.port <= 65535:
            raise HarnessError("up", f"--port {args.port}: use an unprivileged port (1024-65535)", code=2)
        if port_in_use(args.port):
            raise HarnessError("up", f"port {args.port} on {HOST} is already in use", code=2)
    state_dir.mkdir(parents=True, exist_ok=True)
    paths["logs"].mkdir(parents=True, exist_ok=True)

    timings: dict[str, float] = {}
    t = time.monotonic()
    venv, marker = provision(line)
    timings["provision"] = round(time.monotonic() - t, 3)

    port = args.port or free_port()
    url = f"http://{HOST}:{port}"
    daemon_started = False
    try:
        # -- start the server ------------------------------------------------
        t = time.monotonic()
        log(f"starting a {line.name} server (kitaru {line.kitaru}, ZenML {line.zenml}) on {url} "
            f"(ZENML_CONFIG_PATH={paths['config']})")
        paths["config"].mkdir(parents=True)
        daemon_started = True  # from here on a failure must stop the daemon
        run_logged(
            [str(venv.kitaru), "login", "--port", str(port), "--timeout", str(LOGIN_CLI_TIMEOUT)],
            step="start server (kitaru login)", log_path=paths["login_log"],
            timeout=LOGIN_PROCESS_TIMEOUT, env=process_env(paths["config"], server=True, stream_broker=line.stream_broker), cwd=state_dir,
        )
        wait_healthy(url, HEALTH_TIMEOUT, "start server (health check)", paths["daemon_log"])
        server_pid = _read_pid(paths["pid_file"])
        if server_pid is None or not pid_alive(server_pid):
            raise HarnessError("start server", f"no live daemon pid in {paths['pid_file']}", log=paths["daemon_log"])
        rest = Rest(url, "start server (REST)", paths["daemon_log"])
        info = rest.get("/api/v1/info")
        if info.get("version") != line.zenml:
            raise HarnessError("start server", f"the server runs ZenML {info.get('version')}, not {line.zenml} "
                               f"(line {line.name})", log=paths["daemon_log"])
        openapi = rest.get("/openapi.json")
        # Both lines publish it under the same path (and operation id).
        if "/api/v1/runs/{run_id}/replay" not in (openapi.get("paths") or {}):
            raise HarnessError("start server", "workload manager is not active (no replay operation in /openapi.json)",
                               log=paths["daemon_log"])
        timings["server_start"] = round(time.monotonic() - t, 3)
        log(f"server up in {timings['server_start']}s (pid {server_pid}, ZenML {info.get('version')})")

        # -- project folder + seed ------------------------------------------------
        t = time.monotonic()
        paths["project"].mkdir(parents=True, exist_ok=True)
        client_env = process_env(paths["config"])
        run_logged([str(venv.kitaru), "init"], step="kitaru init", log_path=paths["init_log"],
                   timeout=INIT_TIMEOUT, env=client_env, cwd=paths["project"])
        shutil.copytree(FLOWS_DIR, paths["project"] / "flows",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        log("seeding (completed, failed and waiting executions; memory; secret)")
        run_logged(
            [str(venv.python), "-m", "flows.run_seed", "--out", str(paths["seed_report"])],
            step="seed flows", log_path=paths["seed_log"], timeout=SEED_TIMEOUT,
            env=client_env, cwd=paths["project"],
        )
        report = json.loads(paths["seed_report"].read_text())
        timings["seed"] = round(time.monotonic() - t, 3)
        timings["seed_steps"] = report.get("timings", {})
        log(f"seeded in {timings['seed']}s")

        t = time.monotonic()
        rest.step = "read seed back (REST)"
        rest.log_path = paths["seed_log"]
        with contextlib.suppress(HarnessError):
            rest.login()  # the local daemon runs without auth; a token is harmless
        seed = collect_seed(rest, report)
        timings["collect"] = round(time.monotonic() - t, 3)

        t = time.monotonic()
        rest.step = "auth server"
        auth = start_auth_server(venv, paths, server_pid, rest)
        timings["auth_server"] = round(time.monotonic() - t, 3)
        timings["total"] = round(time.monotonic() - _T0, 3)

        server = {
            "schema_version": SERVER_JSON_SCHEMA_VERSION,
            "line": line.name,
            # Where run events are streamed (null: the server streams none).
            "stream_broker": line.stream_broker,
            # GET /info names the ZenML release only; the Kitaru release is
            # the one installed in the venv whose `kitaru login` started it.
            "kitaru_version": marker["versions"]["kitaru"],
            "zenml_version": info["version"],
            "server_url": url,
            "host": HOST,
            "port": port,
            "state_dir": str(state_dir),
            "config_path": str(paths["config"]),
            "project_dir": str(paths["project"]),
            "venv": str(venv.path),
            "python": str(venv.python),
            "kitaru": str(venv.kitaru),
            "kitaru_mcp": str(venv.kitaru_mcp),
            "env": server_env(paths["config"]),
            "env_scrub_prefixes": list(SCRUBBED_ENV_PREFIXES),
            "pid": server_pid,
            "pid_file": str(paths["pid_file"]),
            "watcher_pid": None,
            "watch_pid": args.watch_pid,
            "versions": {**marker.get("versions", {}), "server": info.get("version")},
            "logs": {
                "daemon": str(paths["daemon_log"]),
                "login": str(paths["login_log"]),
                "init": str(paths["init_log"]),
                "seed": str(paths["seed_log"]),
                "auth_server": str(paths["auth_log"]),
                "watch": str(paths["watch_log"]) if args.watch_pid is not None else None,
            },
            "timings": timings,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seed": seed,
            "auth": auth,
        }
    except BaseException as exc:
        if isinstance(exc, HarnessError) and exc.hint is None:
            exc.hint = f"server daemon log: {paths['daemon_log']}; all logs: {paths['logs']}"
        if daemon_started:
            log("up failed; stopping the server daemon (logs are kept in the state dir)")
            with contextlib.suppress(Exception):
                stop_server(state_dir)
        raise

    if args.watch_pid is not None:
        server["watcher_pid"] = _spawn_watcher(state_dir, args.watch_pid, server_pid, paths["watch_log"])
    _atomic_write_json(paths["server_json"], server)
    sys.stdout.write(f"{paths['server_json']}\n")
    sys.stdout.flush()
    log(f"ready: {url} (server.json: {paths['server_json']}, total {timings['total']}s)")
    return 0


def _spawn_watcher(state_dir: Path, watch_pid: int, server_pid: int, watch_log: Path) -> int:
    """Fork a detached process that stops the server once watch_pid is gone.

    The child starts a new session and holds none of the caller's pipes, so a
    caller reading our stdout/stderr sees EOF as soon as `up` returns.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child:
        log(f"watcher pid {child} stops the server once pid {watch_pid} exits (log: {watch_log})")
        return child
    # --- child ---
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        out = os.open(watch_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(devnull)
        os.close(out)
        code = _watch(state_dir, watch_pid, server_pid)
    except BaseException:  # never fall back into the parent's code path
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    os._exit(code)


def _watch(state_dir: Path, watch_pid: int, server_pid: int) -> int:
    stop_requested: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        stop_requested.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    log(f"watching pid {watch_pid}; server daemon pid {server_pid}")
    while True:
        if stop_requested:
            log(f"signal {stop_requested[0]} received; stopping the server")
            break
        if not pid_alive(watch_pid):
            log(f"watched pid {watch_pid} is gone; stopping the server")
            break
        if not pid_alive(server_pid):
            log("server daemon exited on its own; watcher done")
            return 0
        time.sleep(WATCH_POLL_INTERVAL)
    stop_server(state_dir)
    log("server stopped; watcher done")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).expanduser().resolve()
    if stop_server(state_dir):
        log(f"server of {state_dir} stopped")
    else:
        log(f"no running server for {state_dir} (nothing to do)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kitaru_test_server.py",
        description="Isolated, seeded, real local Kitaru server for tests.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    provision_cmd = sub.add_parser("provision", help="create or verify the cached reference venv of a line")
    provision_cmd.add_argument("--line", choices=sorted(LINES), default=DEFAULT_LINE, help=LINE_HELP)
    up = sub.add_parser("up", help="start and seed a private server; print the path of server.json")
    up.add_argument("--line", choices=sorted(LINES), default=DEFAULT_LINE, help=LINE_HELP)
    up.add_argument("--state-dir", required=True, help="fresh directory for config, project, logs, server.json")
    up.add_argument("--port", type=int, default=None, help="loopback port (default: a free one)")
    up.add_argument("--watch-pid", type=int, default=None,
                    help="stop the server automatically once this process has exited")
    down = sub.add_parser("down", help="stop the server of a state dir (idempotent)")
    down.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)

    handlers = {"provision": cmd_provision, "up": cmd_up, "down": cmd_down}

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # SIGTERM/SIGHUP behave like Ctrl-C: children are killed, and a
    # half-started server is stopped by `up`'s cleanup.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    try:
        return handlers[args.command](args)
    except HarnessError as exc:
        print(f"kitaru_test_server {args.command}: FAILED at step '{exc.step}': {exc.message}", file=sys.stderr)
        if exc.log:
            print(f"  log: {exc.log}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"kitaru_test_server {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
