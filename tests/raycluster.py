"""A real two-node Ray cluster for the tests, in a network namespace of its own.

Ray binds the machine's own address when it has one besides loopback, and the tests send
traffic to loopback only; in a fresh network namespace loopback is all there is, so Ray uses
127.0.0.1 for everything. A `sleep` started with `unshare -n` holds the namespace; `ray start`
makes the head and a second node in it (each with one CPU of its own), and every command of
the tests that talks to the cluster runs in it through `nsenter`. Stopping it ends exactly the
processes in that namespace, not any other Ray on the machine.

Ray 2.5x turns on token authentication when `ray start --head` is given a --temp-dir, and the
second node then cannot join without the token; on a private loopback it guards nothing, so
the cluster and its clients run with RAY_AUTH_MODE=disabled.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PORT, CLIENT_PORT = 6379, 10001  # the namespace is empty: any port is free in it


def _namespace(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


class RayCluster:
    """`cpus`: each node's CPUs."""

    def __init__(self, cpus: int = 1):
        self.cpus = cpus
        self.holder: subprocess.Popen | None = None
        self.temp = Path(tempfile.mkdtemp(prefix="avray-", dir="/tmp"))  # Ray's socket paths must stay short
        self.address = f"127.0.0.1:{PORT}"
        self.client_address = f"ray://127.0.0.1:{CLIENT_PORT}"  # Ray client, on the head
        self.env = {**os.environ, "RAY_AUTH_MODE": "disabled"}

    def why_not(self) -> str:
        """Why a cluster cannot be made here ("" when it can)."""
        for tool in ("unshare", "nsenter", "ip"):
            if shutil.which(tool) is None:
                return f"{tool} is not installed"
        try:
            import ray  # noqa: F401
        except ImportError:
            return "Ray is not installed (pip install 'audioviz[cluster]')"
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
        if probe.returncode:
            return f"no network namespace can be made here ({probe.stderr.strip() or probe.returncode})"
        return ""

    def start(self, nodes: int = 2) -> None:
        self.holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep infinity"])
        deadline = time.monotonic() + 10
        while _namespace(self.holder.pid) == _namespace(os.getpid()):
            assert self.holder.poll() is None and time.monotonic() < deadline, "the namespace holder did not start"
            time.sleep(0.05)
        ray = str(Path(sys.executable).with_name("ray"))
        common = ["--num-cpus", str(self.cpus), "--disable-usage-stats"]
        self.run([ray, "start", "--head", "--port", str(PORT), "--temp-dir", str(self.temp),
                  "--ray-client-server-port", str(CLIENT_PORT), "--include-dashboard", "false", *common], check=True, capture_output=True)
        for _ in range(nodes - 1):
            self.run([ray, "start", "--address", self.address, *common], check=True, capture_output=True)

    def command(self, args: list[str]) -> list[str]:
        """`args` as a command that runs inside the cluster's namespace."""
        return ["nsenter", "-t", str(self.holder.pid), "-n", *args]

    def run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(args), env=self.env, **kwargs)

    def popen(self, args: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.command(args), env=self.env, **kwargs)

    def processes(self, pattern: str = "") -> list[int]:
        """The processes in the cluster's namespace (whose command line holds `pattern`)."""
        ns, found = _namespace(self.holder.pid), []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == self.holder.pid:
                continue
            try:
                if _namespace(int(entry)) != ns:
                    continue
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if pattern in cmdline:
                found.append(int(entry))
        return found

    def actors(self) -> list[int]:
        """The processes of the batch's render actors (Ray titles them ray::RenderActor...)."""
        return self.processes("ray::RenderActor")

    def wait_for_no_actors(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.actors():
            assert time.monotonic() < deadline, f"render actors still running: {self.actors()}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.holder is None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            for pid in self.processes():
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + wait
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.1)
        self.holder.kill()
        self.holder.wait()
        shutil.rmtree(self.temp, ignore_errors=True)


@contextlib.contextmanager
def running_cluster():
    """A two-node cluster for the tests inside the block; they are skipped where none can run."""
    import pytest

    c = RayCluster()
    why = c.why_not()
    if why:
        pytest.skip(f"no Ray cluster here: {why}")
    try:
        c.start()
        yield c
    finally:
        c.stop()
