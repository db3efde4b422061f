"""The fixed-fps frame loop: scene -> offscreen framebuffer -> readback -> encoder -> MP4."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import EncoderConfig, VideoConfig
from ..files import atomic_write
from ..scenes.base import Scene
from .context import create_context, is_software
from .encoder import Encoder
from .yuv import YuvConverter, release_framebuffer, supports


@dataclass(frozen=True)
class FrameTimings:
    """Where the frame loop's wall time went (seconds)."""

    setup: float
    draw: float  # Python side of scene.draw (GL command submission)
    readback: float  # glReadPixels: on llvmpipe this is where the frame is actually rasterised
    encoder_wait: float  # waiting for a free buffer: time the encoder was the bottleneck
    finish: float  # draining the last frames and writing the MP4 index (faststart)

    def as_dict(self) -> dict:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


def render_video(
    scene: Scene,
    values: np.ndarray,
    output: str | os.PathLike,
    video: VideoConfig = VideoConfig(),
    encoder: EncoderConfig = EncoderConfig(),
    audio: str | os.PathLike | None = None,
    seed: int = 0,
    progress: bool = False,
    ctx=None,
    convert: str = "auto",
) -> FrameTimings:
    """Render one frame per row of `values` (F, 10) and write them, with `audio`, to `output`.

    The MP4 appears at `output` only when complete: it is written beside it under a temporary
    name and renamed at the end, so an error or Ctrl-C never leaves half a file there. `ctx`
    reuses a GL context (made with `create_context`); by default one is made and released.

    `convert` says where RGB becomes YUV: "gl" (render/yuv.py: less to read back, nothing for
    the CPU), "ffmpeg" (swscale), or "auto": gl on a GPU, ffmpeg on a software rasteriser, where
    texture fetches cost more than swscale does on its own thread (7 ms against 3 ms a 720p frame).
    """
    from tqdm import tqdm

    output = Path(output)
    values = np.ascontiguousarray(values, dtype=np.float32)
    n_frames = len(values)
    spf = video.fps.denominator / video.fps.numerator
    t0 = time.perf_counter()
    own_ctx = ctx is None
    ctx = create_context() if own_ctx else ctx
    yuv = fbo = None
    try:
        if convert == "auto":
            convert = "ffmpeg" if is_software(ctx) else "gl"
        if convert == "gl" and supports(video.size):
            yuv = YuvConverter(ctx, video.size)
            fbo, read_into, frame_format = yuv.fbo, yuv.read_into, "yuv420p"
        else:  # on a software rasteriser, or a width the packed planes do not tile
            fbo = ctx.framebuffer([ctx.renderbuffer(video.size, 4)], ctx.depth_renderbuffer(video.size))
            read_into, frame_format = (lambda buf: fbo.read_into(buf, components=4)), "rgba"
        fbo.use()
        scene.setup(ctx, video.size, seed)
        t_setup = time.perf_counter() - t0
        t_draw = t_read = t_wait = 0.0
        audio = None if audio is None else Path(audio)
        with atomic_write(output, "video") as tmp, Encoder(tmp, video, encoder, n_frames, audio,
                                                           frame_format=frame_format, target=output) as enc:
            with tqdm(total=n_frames, desc="render", unit="frame", disable=not progress, leave=False) as bar:
                for f in range(n_frames):
                    a = time.perf_counter()
                    fbo.use()
                    scene.draw(f * spf, spf, values[f])
                    b = time.perf_counter()
                    buf = enc.acquire()
                    c = time.perf_counter()
                    read_into(buf)
                    d = time.perf_counter()
                    enc.submit(buf)
                    t_draw += b - a
                    t_wait += c - b
                    t_read += d - c
                    bar.update(1)
            e = time.perf_counter()
            enc.finish()
            t_finish = time.perf_counter() - e
    finally:
        if own_ctx:
            ctx.release()
        elif yuv is not None:
            yuv.release()
        elif fbo is not None:
            release_framebuffer(fbo)
    return FrameTimings(t_setup, t_draw, t_read, t_wait, t_finish)
