"""How long a batch will take (`--dry-run`), from the throughput that batches measured before.

Every local batch that renders tracks records its throughput, in seconds of audio per second of
wall time per job, for this kind of machine (CPU, core count, GL renderer) and these render
settings (size, fps, scene, encoder), in the cache folder. A dry run reads it back, or takes
`--throughput`, and divides the batch's audio by it and by the jobs that will run at once: on
a cluster, the jobs its resources hold now. It is an estimate, and says what it rests on.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from ..config import RenderConfig
from ..errors import AudiovizError
from .plan import Track
from .report import DONE, BatchResult

THROUGHPUT_NAME = "throughput.json"
SAMPLE = 200  # tracks probed for their length; a larger batch's audio is extrapolated from them


def machine_kind(gl_renderer: str) -> str:
    """What makes one machine render as fast as another: its CPU, its cores, its GL renderer."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, {gl_renderer}"


def settings_key(config: RenderConfig) -> str:
    v, e = config.video, config.encoder
    return f"{v.width}x{v.height} {float(v.fps):g} fps, scene {config.scene}, {e.codec} {e.preset}"


def _store():
    from ..extract.collect import cache_root

    return cache_root() / THROUGHPUT_NAME


def _read() -> dict:
    try:
        data = json.loads(_store().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Throughput:
    per_job: float  # seconds of audio rendered per second, per job
    jobs: int  # jobs at once when it was measured
    tracks: int
    measured: str  # the date
    source: str  # where the figure comes from, in words


def record_throughput(result: BatchResult, config: RenderConfig, gl_renderer: str) -> Throughput | None:
    """Keep what a finished local batch measured (nothing for a batch that rendered nothing or
    was interrupted): the figure for these settings on this machine is replaced."""
    done = [t for t in result.tracks if t.status == DONE and t.audio_seconds]
    if result.interrupted or not done or result.seconds <= 0:
        return None
    jobs = max(1, min(result.jobs, len(done)))
    per_job = sum(t.audio_seconds for t in done) / result.seconds / jobs
    entry = {"per_job": round(per_job, 4), "jobs": jobs, "tracks": len(done), "measured": time.strftime("%Y-%m-%d")}
    data = _read()
    data.setdefault(machine_kind(gl_renderer), {})[settings_key(config)] = entry
    path = _store()
    with contextlib.suppress(OSError):
        from ..files import atomic_write

        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "throughput") as tmp:
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    return Throughput(per_job, jobs, len(done), entry["measured"], "measured")


def stored_throughput(config: RenderConfig, gl_renderer: str) -> Throughput | None:
    entry = _read().get(machine_kind(gl_renderer), {}).get(settings_key(config))
    try:
        return Throughput(float(entry["per_job"]), int(entry["jobs"]), int(entry["tracks"]), str(entry["measured"]),
                          f"measured by a batch of {entry['tracks']} track(s) with {entry['jobs']} job(s) on "
                          f"{entry['measured']}, on this kind of machine")
    except (TypeError, KeyError, ValueError):
        return None


def _seconds(track: Track, config: RenderConfig) -> float | None:
    """The audio a track's video will hold (None: the file cannot be probed; it will fail)."""
    from ..audio import probe

    try:
        length = probe(track.source).duration
    except AudiovizError:
        return None
    length = max(0.0, length - config.start)
    return length if config.duration is None else min(length, config.duration)


@dataclass
class Estimate:
    tracks: int  # in the plan
    todo: int  # of them, without a complete video yet
    audio_seconds: float  # of the tracks to do
    probed: int  # tracks whose length was probed (all, or a sample of SAMPLE)
    unreadable: int  # of the probed ones, not audio that can be probed
    jobs: int
    per_job: float | None
    throughput_source: str
    wall_seconds: float | None
    where: str  # this machine, or the cluster's nodes
    plan: list[dict]  # input and output of each track to render

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        audio = f"{self.audio_seconds / 3600:.1f} hours" if self.audio_seconds >= 3600 else _duration(self.audio_seconds)
        sampled = "" if self.probed == self.todo else f" (extrapolated from a sample of {self.probed})"
        out = [f"{self.tracks} track(s), {self.todo} to render ({self.tracks - self.todo} complete already), "
               f"{audio} of audio{sampled}",
               f"{self.jobs} job(s) at once on {self.where}"]
        if self.unreadable:
            out.append(f"{self.unreadable} of the {self.probed} probed file(s) cannot be read as audio; they will fail")
        if self.wall_seconds is None:
            out.append("no estimate of the time: no batch with these settings has run on this kind of machine yet; "
                       "render a few tracks first (--limit 8) or give --throughput")
        else:
            out.append(f"estimated wall time {_duration(self.wall_seconds)} at {self.per_job:.2f}x real time per job "
                       f"({self.throughput_source}); an estimate, not a measurement")
        return out


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def estimate(todo: list[Track], tracks: int, config: RenderConfig, jobs: int, where: str,
             throughput: Throughput | None, seed: int = 0) -> Estimate:
    """The audio of `todo` (probed, or a seeded sample of SAMPLE of it, extrapolated) and the
    wall time `jobs` jobs at `throughput` would take to render it."""
    sample = todo if len(todo) <= SAMPLE else random.Random(seed).sample(todo, SAMPLE)
    with ThreadPoolExecutor(max_workers=8) as pool:  # each probe is an ffmpeg process: mostly waiting
        lengths = list(pool.map(lambda t: _seconds(t, config), sample))
    readable = [s for s in lengths if s is not None]
    audio = sum(readable) * (len(todo) / len(sample)) if sample else 0.0
    jobs = max(1, min(jobs, len(todo))) if todo else jobs
    wall = audio / (throughput.per_job * jobs) if throughput is not None and todo else (0.0 if not todo else None)
    return Estimate(tracks, len(todo), round(audio, 2), len(sample), len(lengths) - len(readable), jobs,
                    None if throughput is None else round(throughput.per_job, 4),
                    "" if throughput is None else throughput.source, None if wall is None else round(wall, 1), where,
                    [{"input": t.rel, "output": t.out_rel} for t in todo])
