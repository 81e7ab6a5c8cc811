"""Start the browser app's server (``carry-unwind app``), offline and on localhost by default.

The app is served by ``solara run experiments/app/page.py --production`` in a child process. The
environment makes it work without internet: Solara's JavaScript, CSS and fonts come from the
``solara-assets`` package through Solara's own asset proxy (``SOLARA_ASSETS_PROXY``, served at
``/_solara/cdn/`` from ``<venv>/share/solara/cdn``), ``--production`` drops the page's check
against solara.dev, and Solara's usage telemetry is switched off.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "APP_PATH",
    "server_command",
    "server_env",
    "free_port",
    "host_problem",
    "port_in_use",
    "wait_until_up",
    "running_server",
    "serve",
]

APP_PATH = Path(__file__).with_name("page.py")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
STARTUP_TIMEOUT_S = 120.0


def server_command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """The ``solara run`` command line, with this interpreter (so the venv's packages are used)."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(APP_PATH),
        "--host",
        host,
        "--port",
        str(port),
        "--no-open",
        "--production",
    ]


def server_env(base: dict[str, str] | None = None, scenario: str | None = None) -> dict[str, str]:
    """Environment for the server: offline assets, no telemetry, no display needed; ``scenario``, the
    built-in scenario the page opens with (its values are the sliders' starting values)."""
    env = dict(os.environ if base is None else base)
    if scenario is not None:
        env["CARRY_UNWIND_APP_SCENARIO"] = scenario  # experiments.app.specs.START_SCENARIO_ENV
    env["SOLARA_ASSETS_PROXY"] = "true"  # serve the JavaScript bundle from solara-assets
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"  # no usage reports to api.mixpanel.com
    env.setdefault("SOLARA_THEME_SHOW_BANNER", "false")  # the "runs on Solara" badge covers the charts
    env.setdefault("SOLARA_THEME_TITLE", "Yen carry-trade unwind")  # the browser tab's title
    # Solara warns on every plain-http page served under a name other than "localhost" that it
    # falls back to SameSite=lax cookies; that is what a local app wants, so keep the log quiet
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(w for w in (env.get("PYTHONWARNINGS", ""), quiet) if w)
    env.setdefault("MPLBACKEND", "Agg")
    env["CARRY_UNWIND_APP_WARM_UP"] = "1"  # compile the model's kernels as the app loads
    # the repository root, so `experiments` and `model` import even without an installed package
    root = str(APP_PATH.resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def host_problem(host: str) -> str | None:
    """What is wrong with ``host`` as the address the server listens on, or None if nothing is.

    It must be an IP address, or a host name that resolves, and either must be an address of this
    machine (or 0.0.0.0 / ::, every interface): otherwise the server only fails as it starts, with
    an error that reads like a port in use. A resolver's answer is what the server would get.
    """
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if re.fullmatch(r"[0-9.]+", bare):  # 999.1.1.1, 1.2.3: not an IPv4 address, and not a host name either
            return "it is not an IP address (four numbers 0-255, e.g. 127.0.0.1) nor a host name"
    try:
        infos = socket.getaddrinfo(bare, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
        return f"no host of that name is known to this machine ({why})"
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.bind(address)  # port 0: any free port, only the address is tried
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            named = "it is" if bare == address[0] else f"it resolves to {address[0]},"
            return f"{named} not an address of this machine"
    return None


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{shown}:{port}/"


def port_in_use(host: str, port: int) -> bool:
    """Whether another program listens on ``port`` at ``host`` (binding it as uvicorn would fails)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False  # an unknown host name: the server's own start says so
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a closing socket is no owner
        try:
            sock.bind(address)
        except OSError:
            return True
    return False


def _is_the_app(body: bytes) -> bool:
    """Whether a page is served by Solara (its page loads Solara's own scripts), not another program."""
    return b"solara" in body.lower()


def wait_until_up(url: str, process: subprocess.Popen, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    """Return once the app answers at ``url``; raise RuntimeError if the server exits or times out, or
    if another program answers there."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app server exited with status {process.returncode} before answering at {url}")
        try:
            with urllib.request.urlopen(url, timeout=2.0) as response:
                if response.status == 200:
                    if _is_the_app(response.read(1 << 16)):
                        return
                    raise RuntimeError(f"another program answers at {url}, not the app")
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the app server did not answer at {url} within {timeout_s:.0f} s")


def _stop(process: subprocess.Popen, timeout_s: float = 5.0) -> None:
    """Shut the server down (SIGTERM, which uvicorn handles gracefully), or kill it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def running_server(host: str = DEFAULT_HOST, port: int | None = None, *, log_path: Path | None = None) -> Iterator[str]:
    """Run the app server for the duration of a ``with`` block; yields its URL.

    ``port=None`` picks a free port. The server's output goes to ``log_path`` (or is dropped).
    """
    port = free_port(host) if port is None else port
    if port_in_use(host, port):
        raise RuntimeError(f"port {port} on {host} is in use by another program")
    url = url_for(host, port)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(log_path, "wb")) if log_path is not None else subprocess.DEVNULL
        process = subprocess.Popen(server_command(host, port), env=server_env(), stdout=out, stderr=subprocess.STDOUT)
        stack.callback(_stop, process)
        wait_until_up(url, process)
        yield url


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, scenario: str | None = None) -> int:
    """Run the app server in the foreground until Ctrl+C (or SIGTERM); returns an exit status.
    ``scenario``: the built-in scenario the page opens with (default the baseline)."""
    url = url_for(host, port)
    if port_in_use(host, port):
        print(f"carry-unwind: error: port {port} on {host} is in use by another program; choose another with --port",
              file=sys.stderr)  # fmt: skip
        return 1
    process = subprocess.Popen(server_command(host, port), env=server_env(scenario=scenario))
    # a SIGTERM to this process must not leave the server running on its own
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(
            f"carry-unwind app: starting at {url} (the first start compiles the model: up to a minute) ...", flush=True
        )
        wait_until_up(url, process)
        print(f"carry-unwind app: open {url} in a browser (Ctrl+C stops the server)", flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"carry-unwind app: listening on {host}, so other machines on the network can reach it", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        hint = f" (is another program using port {port}? choose another with --port)" if process.poll() else ""
        print(f"carry-unwind: error: {exc}{hint}", file=sys.stderr)
        return 1
    finally:
        _stop(process)
        signal.signal(signal.SIGTERM, previous)
