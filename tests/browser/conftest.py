"""Real-browser fixtures: Playwright driving Debian's Chromium, nothing downloaded.

Chromium comes from Debian's packages (``make test`` installs it); Playwright's own
browser download is never used. The flags keep Chromium from reaching for Google's
services, which this machine's closed network refuses.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = (
    os.environ.get("DELIBERATION_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Debian Chromium; the suite fails (never skips) when it is missing."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs it")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in its own context, viewport fixed for stable screenshots."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


# --------------------------------------------------------------------------- servers
# JupyterLab and Voila on a free local port, each in its own temp root holding a copy
# of the workbook next to a small review (the workbook tests' fixtures).

import json  # noqa: E402 - the server fixtures below are an addition to this module
import secrets  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WORKBOOK = REPO / "workbooks" / "release_review.ipynb"
LAB_OVERRIDES = REPO / "src" / "deliberation" / "workbook" / "lab" / "overrides.json"
WORKBOOK_REVIEW = REPO / "tests" / "data" / "workbook" / "review.json"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running JupyterLab or Voila: where it listens and what it serves."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def review(self) -> Path:
        return self.root / "review.json"

    def review_data(self) -> dict[str, Any]:
        return json.loads(self.review.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path,
                   timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"server did not answer {url} in {timeout}s:\n"
                f"{log.read_text(errors='replace')[-3000:]}")


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path,
                   timeout: float = 60) -> None:
    """Voila answers its pages by running the notebook, so readiness is an open port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"nothing listens on port {port} after {timeout}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _isolated_env(home: Path) -> dict[str, str]:
    """Keep the servers' settings, runtime files and kernels' IPython dirs out of $HOME."""
    env = dict(os.environ)
    settings = home / "lab-settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    # No "would you like news?" toast over the notebook: this machine is offline anyway.
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    # Every cell stays in the page (no virtual scrolling), so a test finds every step.
    (tracker / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}), encoding="utf-8")
    # The settings `make lab` installs (widget state saved with the notebook), as the
    # user's own, so this JupyterLab runs as `make lab` does.
    overrides = json.loads(LAB_OVERRIDES.read_text(encoding="utf-8"))
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        (settings / package).mkdir(parents=True, exist_ok=True)
        (settings / package / f"{name}.jupyterlab-settings").write_text(
            json.dumps(values), encoding="utf-8")
    env.update({
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "DELIBERATION_RECORD": "",
    })
    return env


@pytest.fixture
def review_dir(tmp_path: Path) -> Path:
    """A review folder as ``deliberation new`` makes it: the workbook next to review.json."""
    root = tmp_path / "review"
    root.mkdir()
    shutil.copyfile(WORKBOOK, root / "release_review.ipynb")
    shutil.copyfile(WORKBOOK_REVIEW, root / "review.json")
    return root


@pytest.fixture
def lab(review_dir: Path, tmp_path: Path) -> Iterator[Server]:
    """JupyterLab serving ``review_dir`` on a free port, behind a random token."""
    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path / "lab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "jupyter-lab"), "--no-browser", "--allow-root", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={review_dir}", "--ServerApp.port_retries=0"],
            cwd=review_dir, stdout=out, stderr=subprocess.STDOUT, env=_isolated_env(tmp_path),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/api/status?token={token}", process, log)
        yield Server(url, token, review_dir, process, log)
    finally:
        _stop(process)


# Voila's lab template without its CDN links, as `make present` serves it.
VOILA_PATH = Path(__file__).parents[2] / "src" / "deliberation" / "workbook" / "voila"


def present_options() -> list[str]:
    """The Voila options of `make present` (the Makefile's VOILA_OPTIONS)."""
    makefile = (Path(__file__).parents[2] / "Makefile").read_text(encoding="utf-8")
    line = next(line for line in makefile.splitlines() if line.startswith("VOILA_OPTIONS"))
    return line.split(":=", 1)[1].split()


@pytest.fixture
def voila(review_dir: Path, tmp_path: Path) -> Iterator[Server]:
    """Voila serving the workbook as a code-free page, as ``make present`` does."""
    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path / "voila.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "voila"), str(review_dir / "release_review.ipynb"), "--no-browser",
             *present_options(),
             f"--port={port}", "--Voila.ip=127.0.0.1", f"--token={token}",
             "--Voila.port_retries=0", "--show_tracebacks=True"],
            # Started elsewhere, as `make present` does from the repository: the kernel
            # still runs next to the notebook, where review.json is.
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            env={**_isolated_env(tmp_path), "JUPYTER_PATH": str(VOILA_PATH)},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(port, process, log)
        yield Server(url, token, review_dir, process, log)
    finally:
        _stop(process)


def kernels_cpu(server: Server) -> float:
    """Seconds of CPU the server's kernels (its child processes) have used so far."""
    import psutil

    total = 0.0
    for child in psutil.Process(server.process.pid).children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue  # ended meanwhile
        total += times.user + times.system
    return total


def voila_kernel_ready(server: Server, timeout: float = 180) -> None:
    """Wait until Voila has a pre-heated kernel in its pool (its log says the pool was
    filled more often than pages took a kernel from it) and that kernel has run the
    notebook: the server's kernels used under 50 ms of CPU in the last second."""
    deadline = time.monotonic() + timeout
    while True:
        said = server.log.read_text(errors="replace")
        if said.count("is filled with") > said.count("Using pre-heated kernel"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"Voila's kernel pool was not filled again in {timeout} s")
        time.sleep(0.1)
    before = kernels_cpu(server)
    while True:
        time.sleep(1.0)
        now = kernels_cpu(server)
        if now - before < 0.05:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"Voila's kernels were still busy after {timeout} s")
        before = now
