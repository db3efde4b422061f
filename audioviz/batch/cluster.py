"""A batch on a Ray cluster: the same plan, layout, report and exit statuses as on one machine,
with the tracks rendered by Ray actors across the cluster's nodes.

Each actor (actor.py) holds a render session and renders track after track, one at a time, as
a local worker does. Ray schedules the actors (`--cpus-per-job`, `--gpus-per-job`); audioviz
schedules nothing itself beyond handing the next track to the actor that just finished one.

Inputs and outputs live on a filesystem that every node mounts at the same path. Videos are
published once (publish.py), so a track that was rendered twice, because its first actor's
node only looked dead, still has one video. An actor that dies mid-track (its process killed,
its node gone) costs that track an attempt: it is rendered again by a new actor, up to
`retries` more times, then reported failed with the reason. A bad file is the file's failure,
reported as in a local batch and never retried.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import tempfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import RenderConfig
from ..errors import BatchStoppedError, ConfigError, MissingDependencyError
from ..render.context import environment
from .folder import remove_stale
from .plan import Track
from .publish import Publisher
from .report import DONE, FAILED, TrackResult

INSTALL_HINT = "pip install 'audioviz[cluster]'"
LOCAL = "ray"  # a Ray on this machine: the one `ray start` runs here, else one for this batch
AUTO = "auto"  # RAY_ADDRESS, else as LOCAL
# the batch's own settings travel to the actors; the GL device is each node's own
FORWARDED_ENV = ("AUDIOVIZ_CACHE", "AUDIOVIZ_DRAW_TIMEOUT", "AUDIOVIZ_FFMPEG", "AUDIOVIZ_LIBEGL")


@dataclass(frozen=True)
class ClusterConfig:
    """Where the cluster is and what one job (one actor, one track at a time) takes of it."""

    address: str = LOCAL  # ray, auto, ray://HOST:10001 (Ray client) or HOST:6379 (the head's GCS)
    cpus_per_job: float = 2.0
    gpus_per_job: float = 0.0
    retries: int = 2  # more attempts for a track whose actor died

    def __post_init__(self) -> None:
        if not self.address.strip():
            raise ConfigError("--cluster: give ray, auto, or the cluster's address (ray://HOST:10001 or HOST:6379)")
        if not (self.cpus_per_job > 0 and math.isfinite(self.cpus_per_job)):
            raise ConfigError(f"--cpus-per-job {self.cpus_per_job}: give a number of CPUs above 0 (fractions allowed)")
        if not (self.gpus_per_job >= 0 and math.isfinite(self.gpus_per_job)):
            raise ConfigError(f"--gpus-per-job {self.gpus_per_job}: give 0 or more GPUs (fractions allowed)")
        if self.gpus_per_job > 1 and self.gpus_per_job != int(self.gpus_per_job):
            raise ConfigError(f"--gpus-per-job {self.gpus_per_job}: above 1, give a whole number of GPUs "
                              "(Ray shares a GPU only in fractions of one)")
        if self.retries < 0:
            raise ConfigError(f"--retries {self.retries}: give 0 or more")


def _ray():
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(f"--cluster needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


@contextlib.contextmanager
def _stderr_kept(log: Path):
    """Ray's C++ core writes its warnings straight to file descriptor 2 while it connects (on a
    machine without a route out: "Failed to determine local IP"); they go to `log` instead, and
    the batch shows them only when connecting fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "ab") as f:
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _quiet_driver() -> None:
    """Ray's driver prints every worker death it hears of as a paragraph on stdout (which --json
    owns) and stderr (which the progress bar owns); the batch says it in the track's report line
    instead. Ray has no setting for that, so its printer in this process is replaced."""
    with contextlib.suppress(ImportError, AttributeError):
        import ray._private.worker as driver

        driver.print_to_stdstream = lambda data, ignore_prefix=False: None


def _local_cluster() -> str | None:
    """The head address of the Ray that `ray start` runs on this machine, if one answers there
    (Ray notes the last one it started in its temporary folder, and keeps the note after it stops)."""
    note = Path(os.environ.get("RAY_TMPDIR") or "/tmp") / "ray" / "ray_current_cluster"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        address = note.read_text(encoding="utf-8").strip()
        if address and not _unreachable(address):
            return address
    return None


def _resolve(address: str) -> str:
    """The address to give ray.init: "local" to start a Ray for this batch."""
    if address == AUTO and os.environ.get("RAY_ADDRESS", "").strip():
        return os.environ["RAY_ADDRESS"].strip()
    if address in (LOCAL, AUTO):
        return _local_cluster() or "local"
    return address


def _unreachable(address: str, timeout: float = 3.0) -> str:
    """Why nothing answers at a Ray address (HOST:PORT or ray://HOST:PORT), or "" when something
    does; checked first because Ray itself waits a minute or more before it gives up."""
    import socket

    host, _, port = address.removeprefix("ray://").rstrip("/").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return "give it as HOST:PORT or ray://HOST:PORT"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return ""
    except OSError as e:
        return e.strerror or str(e) or type(e).__name__


@dataclass(frozen=True)
class Node:
    host: str
    cpus: float
    gpus: float

    def room(self, c: ClusterConfig) -> int:
        """How many jobs of `c` fit on this node at once."""
        fits = math.floor(self.cpus / c.cpus_per_job + 1e-9)
        if c.gpus_per_job > 0:
            fits = min(fits, math.floor(self.gpus / c.gpus_per_job + 1e-9))
        return max(0, fits)


class Cluster:
    """A connection to a Ray cluster for the length of a batch: its nodes, and how many jobs of
    `config` it holds. A Ray that the batch started itself stops with `close`."""

    def __init__(self, config: ClusterConfig):
        self.config = config
        ray = _ray()
        address = _resolve(config.address)
        if address != "local":
            why = _unreachable(address)
            if why:
                raise BatchStoppedError(f"cannot reach the Ray cluster at {address} ({why})")
        with tempfile.NamedTemporaryFile(prefix="audioviz-ray-", suffix=".log", delete=False) as f:
            log = Path(f.name)
        try:
            # RAY_ADDRESS is resolved above; unset, Ray takes the address it is given
            with environment(RAY_ADDRESS=None), _stderr_kept(log):
                try:
                    ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False,
                             configure_logging=True)
                except Exception as e:
                    said = " ".join(log.read_text(errors="replace").split())[-300:]
                    raise BatchStoppedError(f"cannot reach the Ray cluster at {config.address} "
                                            f"({' '.join(str(e).split())[:300]}){'; Ray said: ' + said if said else ''}") from None
        finally:
            log.unlink(missing_ok=True)
        _quiet_driver()
        self.nodes = [Node(n.get("NodeManagerHostname", "?"), n["Resources"].get("CPU", 0.0),
                           n["Resources"].get("GPU", 0.0)) for n in ray.nodes() if n.get("Alive")]
        self.room = sum(n.room(config) for n in self.nodes)
        if self.room == 0:
            self.close()
            job = f"{config.cpus_per_job:g} CPU(s)" + (f" and {config.gpus_per_job:g} GPU(s)" if config.gpus_per_job else "")
            raise ConfigError(f"no node of the Ray cluster has room for one job of {job} "
                              f"(its nodes: {self.describe()}); lower --cpus-per-job or --gpus-per-job")

    def describe(self) -> str:
        cpus = sum(n.cpus for n in self.nodes)
        gpus = sum(n.gpus for n in self.nodes)
        return f"{len(self.nodes)} node(s), {cpus:g} CPUs, {gpus:g} GPUs"

    def close(self) -> None:
        ray = _ray()
        if ray.is_initialized():
            ray.shutdown()


def absolute_config(config: RenderConfig) -> RenderConfig:
    """The settings with the files they name (a checkpoint, a fitted mapping, a user's scene)
    as absolute paths, told from names as the rest of audioviz tells them: an actor runs in a
    folder of Ray's, on another node."""
    from ..extract.registry import MODELS
    from ..scenes.user import is_user_scene

    def absolute(value: str) -> str:
        return str(Path(value).absolute())

    fit = config.mapping.fit
    return replace(config, model=config.model if config.model in MODELS else absolute(config.model),
                   scene=absolute(config.scene) if is_user_scene(config.scene) else config.scene,
                   mapping=replace(config.mapping, fit=fit if fit in ("model", "track") else absolute(fit)))


def _absolute(track: Track) -> Track:
    return replace(track, source=track.source.absolute(), output=track.output.absolute())


def _why_dead(e: BaseException) -> str:
    """Ray's account of a dead actor is a paragraph; its first sentence, shortened, is enough."""
    text = " ".join(str(e).split())
    first = text.split(". ")[0]
    return first if len(first) <= 160 else first[:157] + "..."


@dataclass
class _Actor:
    handle: object
    ready_ref: object
    info: dict | None = None  # what `ready` said: pid, node, host, gpu
    track: Track | None = None
    ref: object = None  # the render in flight


class RayExecutor:
    """Renders a batch's tracks on Ray actors (the Executor of executors.py)."""

    MAX_START_FAILURES = 3
    STOP_SECONDS = 10  # for an interrupted render to clean up before its actor is killed

    def __init__(self, cluster: Cluster, config: RenderConfig, jobs: int, publisher: Publisher):
        ray = _ray()
        self.ray, self.cluster, self.jobs, self.publisher = ray, cluster, jobs, publisher
        from .actor import RenderActor

        env = {k: os.environ[k] for k in FORWARDED_ENV if os.environ.get(k)}
        c = cluster.config
        self.actor_class = ray.remote(RenderActor).options(
            num_cpus=c.cpus_per_job, num_gpus=c.gpus_per_job, max_restarts=0, max_task_retries=0,
            **({"runtime_env": {"env_vars": env}} if env else {}))
        self.config = absolute_config(config)
        self.threads = max(1, int(c.cpus_per_job))
        self.actors: list[_Actor] = []
        self.start_failures = 0
        self.attempts: dict[str, list[str]] = {}  # track -> why each earlier attempt's actor died

    def spawn(self) -> None:
        handle = self.actor_class.remote(self.config, self.threads)
        self.actors.append(_Actor(handle, handle.ready.remote()))

    def run(self, todo: list[Track], record: Callable[[TrackResult], None]) -> None:
        ray = self.ray
        pending = deque(_absolute(t) for t in todo)
        remaining = {t.rel for t in todo}
        retries = self.cluster.config.retries

        def finish(r: TrackResult) -> None:
            if r.input in remaining:
                remaining.discard(r.input)
                died = self.attempts.get(r.input)
                if died and r.status == DONE:
                    r.reason = f"rendered on attempt {len(died) + 1}: {'; '.join(died)}"
                record(r)

        for _ in range(min(self.jobs, len(todo))):
            self.spawn()
        while remaining:
            waiting = {a.ready_ref: a for a in self.actors if a.info is None}
            waiting |= {a.ref: a for a in self.actors if a.ref is not None}
            if not waiting:  # every actor gone and none left to start: cannot happen while tracks remain
                raise BatchStoppedError("the batch has no Ray actor left to render with")
            done, _ = ray.wait(list(waiting), num_returns=1, timeout=0.5)
            for ref in done:
                a = waiting[ref]
                if a.info is None:
                    self._started(a, ref, pending)
                else:
                    self._finished(a, ref, pending, finish, retries)

    def _started(self, a: _Actor, ref, pending: deque) -> None:
        ray = self.ray
        try:
            info = ray.get(ref)
        except ray.exceptions.RayError as e:
            info = {"error": f"its Ray actor died while starting ({_why_dead(e)})", "fatal": False}
        if info.get("error"):
            self._drop(a)
            self.start_failures += 1
            if info.get("fatal") or self.start_failures >= self.MAX_START_FAILURES:
                raise BatchStoppedError(f"a batch actor cannot start: {info['error']}")
            if pending:
                self.spawn()
            return
        a.info, self.start_failures = info, 0
        self._next(a, pending)

    def _finished(self, a: _Actor, ref, pending: deque, finish, retries: int) -> None:
        ray = self.ray
        track, a.ref, a.track = a.track, None, None
        try:
            result = ray.get(ref)
        except ray.exceptions.RayTaskError as e:  # raised by the method itself, not a death
            result = TrackResult(track.rel, track.out_rel, FAILED, f"unexpected error in its Ray actor: {_why_dead(e)}")
        except ray.exceptions.RayError as e:  # the actor's process or node is gone
            self._drop(a)
            remove_stale(track.output)  # what its ffmpeg wrote, under a temporary name
            died = self.attempts.setdefault(track.rel, [])
            died.append(f"its actor on {a.info.get('host', '?')} died ({_why_dead(e)})")
            if len(died) <= retries:
                pending.appendleft(track)
            else:
                finish(TrackResult(track.rel, track.out_rel, FAILED,
                                   f"its Ray actor died on each of {len(died)} attempts: {'; '.join(died)}"))
            if pending:
                self.spawn()
            return
        finish(result)
        self._next(a, pending)

    def _next(self, a: _Actor, pending: deque) -> None:
        """Hand actor `a` the next track, or let it go when none is left (its resources too)."""
        if not pending:
            self._drop(a)
            return
        a.track = pending.popleft()
        a.ref = a.handle.render.remote(a.track, self.publisher)

    def _drop(self, a: _Actor) -> None:
        with contextlib.suppress(Exception):
            self.ray.kill(a.handle)
        self.actors.remove(a)

    def close(self, now: bool = False) -> None:
        """Stop the actors: idle ones at the end of a batch; when it was interrupted, the busy
        ones are interrupted first (a SIGINT from a task pinned to their node), so that each
        stops its ffmpeg and removes its temporary file, and killed after STOP_SECONDS."""
        ray = self.ray
        busy = [a for a in self.actors if a.ref is not None]
        if now and busy:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            from .actor import interrupt_process

            stop = ray.remote(num_cpus=0)(interrupt_process)
            for a in busy:
                with contextlib.suppress(Exception):
                    stop.options(scheduling_strategy=NodeAffinitySchedulingStrategy(a.info["node"], soft=False)
                                 ).remote(a.info["pid"])
            with contextlib.suppress(Exception):
                ray.wait([a.ref for a in busy], num_returns=len(busy), timeout=self.STOP_SECONDS)
        for a in list(self.actors):
            self._drop(a)
        for a in busy:  # whatever a killed actor's ffmpeg left
            remove_stale(a.track.output)
