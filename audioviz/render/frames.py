"""The one frame loop: frames drawn by a frame source, read back, and written as a video.

A frame source draws numbered frames on a GL context and reads each back (`SceneFrames`: one
scene driven by its Motion; render/grid.py's `GridFrames`: a comparison of tiles).
`write_video` owns everything around it: the temporary file beside the target and its rename
when the video is complete, the encoder, the timings, a meter of how much each frame changes
(the sync score's half, render/meter.py), and the way frames leave the GL:

- straight into the encoder's buffer on a software rasteriser, which rasterises the frame
  during the read anyway (a pixel buffer would only add a copy);
- through a ring of pixel buffers on a GPU, so that frame f is read back while frame f+1 is
  drawn.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config import EncoderConfig, VideoConfig
from ..files import atomic_sequence, atomic_write, is_sequence
from ..motion import Motion
from ..scenes.base import Scene
from .context import is_software
from .encoder import Encoder
from .meter import ChangeMeter
from .target import RGBA, Target

RING = 2  # pixel buffers in flight: the frame being read while the next is drawn


class FrameSource(Protocol):
    ctx: object
    size: tuple[int, int]
    frame_format: str  # "rgba" (GL's bottom-up rows) or "yuv420p" (top-down)
    frame_bytes: int
    n_frames: int
    pixel_buffers: bool  # whether read_into can fill a GL pixel buffer (one target, no CPU work)

    def draw(self, f: int) -> None: ...

    def read_into(self, buf) -> None: ...

    def release(self) -> None: ...


class SceneFrames:
    """`scene` set up on `ctx` at `size` and driven by `motion`, one frame per frame of it,
    into a target read back as `fmt` (render/target.py `frame_format`). `overlays`: drawn over
    each frame, in order (render/overlay.py, render/titles.py). `alpha`: the scene draws its
    subject alone, and the frames carry straight alpha."""

    pixel_buffers = True

    def __init__(self, ctx, scene: Scene, motion: Motion, size: tuple[int, int], seed: int = 0,
                 fmt: str = RGBA, overlays=(), alpha: bool = False):
        self.ctx, self.scene, self.size, self.motion, self.overlays = ctx, scene, size, motion, tuple(overlays)
        self.n_frames = len(motion)
        self.target = Target(ctx, size, fmt, alpha)
        self.frame_format, self.frame_bytes = fmt, self.target.frame_bytes
        try:
            self.target.use()
            scene.attach(ctx, size, seed, background=not alpha)
        except BaseException:
            self.release()
            raise

    def draw(self, f: int) -> None:
        self.target.use()
        self.motion.draw(self.scene, f)
        for overlay in self.overlays:
            overlay.draw(f)

    def read_into(self, buf) -> None:
        self.target.read_into(buf)

    def release(self) -> None:
        self.scene.release()
        self.target.release()


@dataclass(frozen=True)
class FrameTimings:
    """Where the frame loop's wall time went (seconds)."""

    draw: float  # Python side of the draw (GL command submission)
    readback: float  # reading pixels back: on llvmpipe this is where the frame is rasterised
    encoder_wait: float  # waiting for a free buffer: time the encoder was the bottleneck
    finish: float  # draining the last frames and writing the video's index (faststart)

    def as_dict(self) -> dict:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


class _Direct:
    """Each frame read into the encoder's next free buffer."""

    def __init__(self, source: FrameSource, enc: Encoder, meter: ChangeMeter | None = None):
        self.source, self.enc, self.meter = source, enc, meter
        self.read = self.wait = 0.0

    def push(self) -> None:
        self._send(self.source.read_into)

    def _send(self, fill) -> None:
        """A free encoder buffer, filled by `fill`, metered and handed to the encoder."""
        a = time.perf_counter()
        buf = self.enc.acquire()
        b = time.perf_counter()
        fill(buf)
        if self.meter is not None:
            self.meter.add(buf)
        self.enc.submit(buf)
        self.wait += b - a
        self.read += time.perf_counter() - b

    def drain(self) -> None:
        pass

    def release(self) -> None:
        pass


class _PixelBufferRing(_Direct):
    """Each frame read into a GL pixel buffer, and copied out to the encoder only after the
    next frame is drawn: on a GPU the read runs meanwhile."""

    def __init__(self, source: FrameSource, enc: Encoder, meter: ChangeMeter | None = None, depth: int = RING):
        super().__init__(source, enc, meter)
        self.buffers = [source.ctx.buffer(reserve=source.frame_bytes) for _ in range(depth)]
        self.pending: deque = deque()
        self.next = 0

    def push(self) -> None:
        if len(self.pending) == len(self.buffers):
            self._copy_out()
        pbo = self.buffers[self.next]
        self.next = (self.next + 1) % len(self.buffers)
        a = time.perf_counter()
        self.source.read_into(pbo)
        self.read += time.perf_counter() - a
        self.pending.append(pbo)

    def _copy_out(self) -> None:
        self._send(self.pending.popleft().read_into)

    def drain(self) -> None:
        while self.pending:
            self._copy_out()

    def release(self) -> None:
        for pbo in self.buffers:
            pbo.release()


def write_video(
    source: FrameSource,
    output: str | os.PathLike,
    video: VideoConfig,
    encoder: EncoderConfig,
    audio: str | os.PathLike | None = None,
    progress: bool = False,
    pixel_buffers: bool | None = None,
    meter: ChangeMeter | None = None,
    publish: Callable[[Path, Path], None] | None = None,
) -> FrameTimings:
    """Draw every frame of `source` and write them, with `audio`, to `output`, which appears
    only when complete (an error or Ctrl-C never leaves half a file there; a PNG sequence,
    frames/%06d.png, appears whole too, without audio). `pixel_buffers`:
    read back through a ring of GL pixel buffers (None: where the source can and the GL is a
    GPU's). `meter` sees every frame as it goes to the encoder; `publish` puts the finished
    video in place (files.atomic_write)."""
    from ..progress import bar as progress_bar

    n_frames = source.n_frames
    if pixel_buffers is None:
        pixel_buffers = source.pixel_buffers and not is_software(source.ctx)
    audio = None if audio is None else Path(audio)
    t_draw = 0.0
    if is_sequence(output):
        if publish is not None:
            raise ValueError("a PNG sequence is written in place, not published")
        place = atomic_sequence(Path(output))
    else:
        place = atomic_write(Path(output), "video", publish)
    with place as tmp, Encoder(tmp, video, encoder, n_frames, audio,
                                                             frame_format=source.frame_format, target=output) as enc:
        reader = _PixelBufferRing(source, enc, meter) if pixel_buffers else _Direct(source, enc, meter)
        try:
            with progress_bar(total=n_frames, desc="render", unit="frame", disable=not progress, leave=False) as bar:
                for f in range(n_frames):
                    a = time.perf_counter()
                    source.draw(f)
                    t_draw += time.perf_counter() - a
                    reader.push()
                    bar.update(1)
            e = time.perf_counter()
            reader.drain()
        finally:
            reader.release()
        enc.finish()
        t_finish = time.perf_counter() - e
    return FrameTimings(t_draw, reader.read, reader.wait, t_finish)
