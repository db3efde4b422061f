"""Single frames of a scene without a video: for contact sheets and previews.

Scenes integrate their speeds over time, so a frame depends on every frame before it. A still
at time t therefore steps the scene through the whole timeline (at a low rate, reading back
only the frames wanted), and shows what the video shows at t.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..config import N_PARAMS
from ..motion import Motion
from ..scenes.base import Scene
from .frames import SceneFrames

# frames per second at which stills step through time: enough for integrated speeds to land
# where the video's do; a long song takes bigger steps, so that no preview needs more than
# MAX_STEPS draws (integrated speeds stay right: each step adds speed * its own dt)
STEP_FPS = 10
MAX_STEPS = 1200


def step_fps(duration: float) -> Fraction:
    return min(Fraction(STEP_FPS), Fraction(MAX_STEPS / max(duration, 1e-3)).limit_denominator(1000))


def parameter_sweep(n: int, fps: float = 30.0) -> np.ndarray:
    """(n, 10) values in [0, 1]: each parameter a slow sinusoid of its own period and phase, so
    that over a few seconds every parameter visits its whole range."""
    t = np.arange(n)[:, None] / fps
    periods = np.linspace(3.0, 9.0, N_PARAMS)[None, :]
    return (0.5 + 0.5 * np.sin(2 * np.pi * t / periods + np.arange(N_PARAMS)[None, :])).astype("f4")


def cell_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """`size` scaled so its longer side is `long_side`, both sides even."""
    w, h = size
    k = long_side / max(w, h)
    return max(2, 2 * round(w * k / 2)), max(2, 2 * round(h * k / 2))


def evenly_spread(n_frames: int, count: int) -> list[int]:
    """`count` frame indices spread over the timeline, each in the middle of its share."""
    return sorted({min(n_frames - 1, math.floor((i + 0.5) * n_frames / count)) for i in range(count)})


def render_stills(ctx, scene: Scene, motion: Motion, picks: list[int], size: tuple[int, int],
                  seed: int = 0) -> list[np.ndarray]:
    """Step `scene` on `ctx` through `motion`; return the frames at `picks` as (h, w, 3) uint8
    images, top row first."""
    source = SceneFrames(ctx, scene, motion.head(max(picks) + 1), size, seed)
    wanted, out = set(picks), {}
    rgba = bytearray(source.frame_bytes)
    try:
        for f in range(source.n_frames):
            # frames nobody sees still advance the scene's state, but rasterise one pixel
            ctx.scissor = None if f in wanted else (0, 0, 1, 1)
            source.draw(f)
            if f in wanted:
                source.read_into(rgba)
                out[f] = np.frombuffer(rgba, np.uint8).reshape(size[1], size[0], 4)[::-1, :, :3].copy()
        return [out[f] for f in picks]
    finally:
        ctx.scissor = None
        source.release()
