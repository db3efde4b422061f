"""The Ray actor of a batch on a cluster: one render session (model, fitted mapping, scene, GL
context on the GPU that Ray assigned, encoder settings), loaded once and used for track after
track, as a local batch worker does (executors.py). The class is plain Python, made an actor
by the batch (cluster.py), so that this module imports without Ray."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

from ..config import RenderConfig
from ..errors import AudiovizError
from .plan import Track
from .publish import Publisher
from .report import TrackResult
from .tracks import FATAL_ERRORS, render_track


class RenderActor:
    def __init__(self, config: RenderConfig, threads: int):
        import ray

        from ..console import setup
        from ..render.devices import select_assigned_gpu
        from ..signals import interrupt

        setup()
        # Ray's workers block SIGINT; the batch stops a render with one (cluster.py), and it must
        # unwind like a Ctrl-C: ffmpeg stopped, the temporary file gone
        if threading.current_thread() is threading.main_thread():
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            signal.signal(signal.SIGINT, interrupt)
        # into the actor's log on its node (Ray keeps it off the batch's terminal)
        print(f"audioviz render actor: {select_assigned_gpu(ray.get_gpu_ids())}", file=sys.stderr, flush=True)
        self.error, self.fatal = "", False
        self.renderer = None
        try:
            from ..session import Renderer

            self.renderer = Renderer(config, threads=threads)
        except Exception as e:  # said by `ready`, so that the batch hears why rather than that
            self.error = str(e) if isinstance(e, AudiovizError) else f"{type(e).__name__}: {e}"
            self.fatal = isinstance(e, FATAL_ERRORS)

    def ready(self) -> dict:
        """Where this actor runs, and why it cannot render if it cannot."""
        import ray

        return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
                "error": self.error, "fatal": self.fatal}

    def render(self, track: Track, publish: Publisher) -> TrackResult:
        return render_track(self.renderer, track, publish=publish)


def interrupt_process(pid: int) -> None:
    """Run on an actor's node (a Ray task pinned there): stop the render in actor process `pid`."""
    try:
        os.kill(pid, signal.SIGINT)
    except OSError:  # it has ended meanwhile
        pass
