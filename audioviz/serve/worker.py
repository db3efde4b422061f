"""A worker process of the playground: it holds a render session (model, mapping, scene and
GL context, loaded once and kept while the settings stay the same) and runs the jobs the
server sends it, one at a time, reporting their progress and warnings as they go.

The worker hears the library's progress (audioviz.progress) and sends it to the server, and
checks at each step whether the job was cancelled. A cancel travels as Ctrl-C does (a
KeyboardInterrupt), so that every cleanup the render has for Ctrl-C runs: ffmpeg is stopped
and no partial file is left.
"""

from __future__ import annotations

import io
import signal
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import AudiovizError

MAX_POINTS = 800  # per curve: more than a page shows across
PROGRESS_EVERY = 0.2  # seconds between progress messages


class Cancelled(KeyboardInterrupt):
    """The server cancelled the job this worker runs."""


class Reporter:
    """The worker's end of its pipe: what it sends the server, and whether the job it runs was
    cancelled (`cancel` holds the number of the job to stop)."""

    def __init__(self, conn, cancel):
        self.conn, self.cancel = conn, cancel
        self.number = 0  # of the job running; 0 between jobs
        self._lock = threading.Lock()
        self._last = 0.0

    def send(self, *message) -> None:
        with self._lock:
            self.conn.send(message)

    def check(self) -> None:
        if self.number and self.cancel.value == self.number:
            raise Cancelled

    def progress(self, stage: str, done: float, total: float | None) -> None:
        """audioviz.progress's function: a step of the running job moved."""
        if not self.number:
            return
        self.check()
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY or done == total:
            self._last = now
            self.send("progress", self.number, {"stage": stage, "done": done, "total": total})

    def warning(self, text: str) -> None:
        if self.number:
            self.send("warning", self.number, text)


_reporter: Reporter | None = None


class _Warnings(io.TextIOBase):
    """Standard error that also sends the job's `warning: ` lines to the server, for the page."""

    def __init__(self, stream):
        self.stream, self.pending = stream, ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if line.startswith("warning: "):
                _reporter.warning(line.removeprefix("warning: "))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self):
        return self.stream.encoding


class Sessions:
    """The worker's render session, made again only when a job's settings differ."""

    def __init__(self, threads: int):
        self.threads, self.renderer = threads, None

    def get(self, config):
        from ..session import Renderer

        if self.renderer is None or self.renderer.config != config:
            self.close()
            self.renderer = Renderer(config, threads=self.threads)
        return self.renderer

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None


def curves(names, values: np.ndarray, pulse: np.ndarray, energy: np.ndarray, fps: Fraction, start: float) -> dict:
    """The parameters, pulse and loudness gain frame by frame, thinned to MAX_POINTS each (the
    pulse by the highest of the frames each point stands for, so that no kick is lost)."""
    n = len(values)
    at = np.arange(0, n, max(1, -(-n // MAX_POINTS)))
    times = start + at * float(1 / fps)
    return {"names": list(names), "times": np.round(times, 3).tolist(),
            "values": np.round(np.asarray(values, np.float64)[at].T, 4).tolist(),
            "pulse": np.round(np.maximum.reduceat(np.asarray(pulse, np.float64), at), 4).tolist() if n else [],
            "energy": np.round(np.asarray(energy, np.float64)[at], 4).tolist()}


def _write_curves(path: Path, data: dict) -> None:
    import json

    from ..files import atomic_write

    with atomic_write(path, "curves") as tmp:
        tmp.write_text(json.dumps(data), encoding="utf-8")


def preview(spec: dict, sessions: Sessions) -> tuple[dict, dict]:
    """The contact sheet `audioviz preview` makes, and the curves a render would follow."""
    from ..session import frame_motion

    r = sessions.get(spec["config"])
    c, folder, audio = r.config, Path(spec["folder"]), spec["audio"]
    result = r.preview(audio, folder / "preview.png", progress=True)
    feats, rhythm = r.listener.hear(audio, True)
    params = r.listener.params(feats, r.scene_cls)
    motion = frame_motion(params.values, feats, rhythm, c.video.fps, c.timeline, r.scene_cls)
    _write_curves(folder / "curves.json", curves(params.names, motion.values, motion.pulse, motion.energy,
                                                 c.video.fps, c.start))
    info = {k: v for k, v in result.as_dict().items() if k != "output"}
    return {"preview": "preview.png", "curves": "curves.json"}, {**info, "mapping": params.mapping}


def render(spec: dict, sessions: Sessions) -> tuple[dict, dict]:
    """The video `audioviz render` makes, and the curves it followed (its sidecar, thinned)."""
    import json

    r = sessions.get(spec["config"])
    folder = Path(spec["folder"])
    result = r.render(spec["audio"], folder / "video.mp4", progress=True, sidecar="json")
    sidecar = folder / "video.params.json"
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    names = r.scene_cls.param_names()
    values = np.stack([np.asarray(data[n], np.float64) for n in names], axis=1)
    _write_curves(folder / "curves.json", curves(names, values, data["pulse"], data["energy"], r.config.video.fps,
                                                 r.config.start))
    sidecar.unlink()
    return ({"video": "video.mp4", "curves": "curves.json"},
            {k: v for k, v in result.as_dict().items() if k != "output"})


def compare(spec: dict, sessions: Sessions) -> tuple[dict, dict]:
    """The comparison video `audioviz compare` makes."""
    from ..compare import compare_file

    c, grid = spec["config"], spec["compare"]
    result = compare_file(spec["audio"], Path(spec["folder"]) / "video.mp4", models=tuple(grid["models"]),
                          scenes=tuple(grid["scenes"]), mappings=tuple(grid["mappings"]), size=c.video.size,
                          config=c, progress=True)
    return {"video": "video.mp4"}, {k: v for k, v in result.as_dict().items() if k != "output"}


JOBS = {"preview": preview, "render": render, "compare": compare}


def _run(number: int, spec: dict, sessions: Sessions) -> None:
    from ..errors import describe_unexpected

    _reporter.number = number
    try:
        _reporter.check()
        files, info = JOBS[spec["kind"]](spec, sessions)
    except Cancelled:
        sessions.close()  # a session stopped halfway is not used again
        _reporter.send("cancelled", number, "")
    except KeyboardInterrupt:  # SIGTERM: the server is stopping this worker, and it ends
        _reporter.send("cancelled", number, "the server stopped it")
        raise
    except AudiovizError as e:
        sessions.close()
        _reporter.send("failed", number, str(e))
    except Exception as e:
        sessions.close()
        _reporter.send("failed", number, describe_unexpected(e))
    else:
        _reporter.send("done", number, {"files": files, "info": info})
    finally:
        _reporter.number = 0


def main(conn, cancel, threads: int) -> None:
    """A worker: run each (number, spec) the server sends on `conn` until None."""
    global _reporter
    from ..console import setup
    from ..progress import progress_to
    from ..quick_exit import quick_exit
    from ..signals import interrupt_once
    from ..workers import die_with_parent

    setup()
    # Ctrl-C in the terminal reaches the whole process group: the server decides what stops,
    # and stops its workers with SIGTERM once it has marked their jobs
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, interrupt_once)
    die_with_parent()
    _reporter = Reporter(conn, cancel)
    sessions = Sessions(threads)
    try:
        sys.stderr = _Warnings(sys.stderr)
        import torch  # noqa: F401  (seconds, spent before the first job rather than in it)

        from .. import session  # noqa: F401

        _reporter.send("ready")
        with progress_to(_reporter.progress):
            while (message := conn.recv()) is not None:
                _run(*message, sessions)
    except (KeyboardInterrupt, EOFError, OSError):  # stopped, or the server is gone
        pass
    finally:
        sessions.close()
    quick_exit(0)
