"""Every built-in scene frames its subject at 16:9, 1:1 and 9:16: portrait and square are
layouts of their own, not a crop of the landscape picture (issue 19).

The subject is what a scene draws over its own background. Each scene is rendered twice, the
same seed and frames, once whole and once with its subject's draws left out; the pixels that
differ are the subject, and their extent, as shares of the frame's width and height, must reach
what a well-framed picture shows at middle parameter values.
"""

import numpy as np
import pytest

from audioviz.render.context import create_context
from audioviz.scenes.registry import SCENES, load_scene

WIDE, SQUARE, TALL = (192, 108), (144, 144), (108, 192)
FRAMES = 6
THRESHOLD = 24  # of 255, in any channel: how far a pixel must differ from the background
STRAYS = 0.5  # percent of the subject's pixels on each side left out of its extent

# The attributes that hold each scene's subject (vertex arrays, or lists of them): the
# background render draws everything else.
SUBJECT = {
    "bar": ("bar_vaos", "shadow_vao"),
    "real": ("sphere_vao",),
    "psychedelic": ("vao",),
    "point_cloud": ("points_vao",),  # but the star field, its last range, is sky
    "crystals": ("facet_vao", "fringe_vao"),
    "saturn": ("ring_vao", "halo_vao", "planet_vao"),
    "storm": ("cloud_vao",),  # the clouds hang in a band whose depth is the storm's layout
}

# The least share of the frame's width and height the subject spans at middle values. The
# numbers are between what the scenes showed before they had layouts of their own (a row of
# bars across the middle of a tall frame, the crystals or the spheres in half of it, a small
# Saturn, four small point clouds, a thin band of storm clouds) and what they show now.
SPANS = {
    "bar": {WIDE: (0.65, 0.33), SQUARE: (0.65, 0.33), TALL: (0.65, 0.33)},
    "real": {WIDE: (0.38, 0.7), SQUARE: (0.7, 0.7), TALL: (0.7, 0.38)},
    "psychedelic": {WIDE: (0.95, 0.95), SQUARE: (0.95, 0.95), TALL: (0.95, 0.95)},
    "point_cloud": {WIDE: (0.8, 0.72), SQUARE: (0.8, 0.72), TALL: (0.8, 0.72)},
    "crystals": {WIDE: (0.44, 0.76), SQUARE: (0.76, 0.76), TALL: (0.76, 0.44)},
    "saturn": {WIDE: (0.62, 0.4), SQUARE: (0.62, 0.55), TALL: (0.6, 0.65)},
    "storm": {WIDE: (0.9, 0.28), SQUARE: (0.9, 0.28), TALL: (0.9, 0.28)},
}


@pytest.fixture(scope="module")
def ctx():
    c = create_context()
    yield c
    c.release()


class Skipped:
    """Stands in for a vertex array and draws nothing, or only the range starting at `keep`."""

    def __init__(self, vao, keep: int | None = None):
        self.vao, self.keep = vao, keep

    def render(self, *args, **kwargs):
        if self.keep is not None and kwargs.get("first") == self.keep:
            self.vao.render(*args, **kwargs)


def leave_out_subject(scene) -> None:
    keep = int(scene.ranges[-2]) if scene.name == "point_cloud" else None
    for attr in SUBJECT[scene.name]:
        vao = getattr(scene, attr)
        skipped = [Skipped(v) for v in vao] if isinstance(vao, list) else Skipped(vao, keep)
        setattr(scene, attr, skipped)


def render(ctx, name: str, size, subject: bool) -> np.ndarray:
    """The last of FRAMES frames at 30 fps, every parameter at 0.5, as (h, w, 3) int."""
    fbo = ctx.framebuffer([ctx.renderbuffer(size, 4)], ctx.depth_renderbuffer(size))
    scene = load_scene(name)
    try:
        fbo.use()
        scene.attach(ctx, size, seed=3)
        if not subject:
            leave_out_subject(scene)
        values = np.full(10, 0.5, dtype=np.float32)
        for f in range(FRAMES):
            fbo.use()
            scene.draw(f / 30, 1 / 30, values)
        img = np.frombuffer(fbo.read(components=3), np.uint8).reshape(size[1], size[0], 3)
        return img.astype(int)
    finally:
        scene.release()
        fbo.release()


def subject_mask(ctx, name: str, size) -> np.ndarray:
    """(h, w) bool: the pixels where the scene's subject shows over its background."""
    whole = render(ctx, name, size, subject=True)
    background = render(ctx, name, size, subject=False)
    return np.abs(whole - background).max(axis=2) > THRESHOLD


def extent(mask: np.ndarray) -> tuple[float, float]:
    """Shares of the width and height that the masked pixels span, but for a few strays."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape

    def share(v: np.ndarray, n: int) -> float:
        return float((np.percentile(v, 100 - STRAYS) - np.percentile(v, STRAYS) + 1) / n)

    return share(xs, w), share(ys, h)


def test_extent_measures_the_masked_box():
    mask = np.zeros((100, 200), dtype=bool)
    mask[20:70, 50:150] = True
    assert extent(mask) == pytest.approx((0.5, 0.5), abs=0.01)


@pytest.mark.parametrize("size", [WIDE, SQUARE, TALL], ids=["16:9", "1:1", "9:16"])
@pytest.mark.parametrize("name", list(SCENES))
def test_subject_fills_the_frame(ctx, name, size):
    mask = subject_mask(ctx, name, size)
    assert mask.mean() > 0.01, f"{name} at {size}: hardly any subject drawn"
    across, up = extent(mask)
    want = SPANS[name][size]
    assert across >= want[0] and up >= want[1], (
        f"{name} at {size[0]}x{size[1]} spans {across:.2f} of the width and {up:.2f} of the "
        f"height; a well-framed picture spans at least {want[0]} and {want[1]}")


def test_bar_stands_taller_in_a_tall_frame(ctx):
    """Portrait is a layout: the row still spans the width, and the bars reach as far up the
    frame as in 16:9, not a third as far."""
    wide, tall = (extent(subject_mask(ctx, "bar", size)) for size in (WIDE, TALL))
    assert tall == pytest.approx(wide, abs=0.06)
