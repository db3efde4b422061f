"""VIZ-BAR: ten lit bars on a glossy floor; each parameter is the length of one bar."""

from __future__ import annotations

import math

import numpy as np

from .base import Param, Scene, Uniforms, shader_source
from .camera import fit_distance, gl_bytes, look_at, perspective

WIDE = 16 / 9  # the aspect ratio the scene is composed for; taller frames stretch the bars

# (normal, u axis, v axis) per face, with u x v = normal so every face winds counter-clockwise
_FACES = (
    ((1, 0, 0), (0, 0, -1), (0, 1, 0)),
    ((-1, 0, 0), (0, 0, 1), (0, 1, 0)),
    ((0, 1, 0), (1, 0, 0), (0, 0, -1)),
    ((0, -1, 0), (1, 0, 0), (0, 0, 1)),
    ((0, 0, 1), (1, 0, 0), (0, 1, 0)),
    ((0, 0, -1), (-1, 0, 0), (0, 1, 0)),
)


def box_vertices() -> np.ndarray:
    """36 vertices of a unit box (x, z in [-0.5, 0.5], y in [0, 1]): pos, uv, normal, u axis, v axis."""
    rows = []
    for n, tu, tv in _FACES:
        n, tu, tv = (np.array(a, dtype=np.float64) for a in (n, tu, tv))
        for u, v in ((0, 0), (1, 0), (1, 1), (0, 0), (1, 1), (0, 1)):
            p = n * 0.5 + (u - 0.5) * tu + (v - 0.5) * tv + (0, 0.5, 0)
            rows.append(np.concatenate([p, (u, v), n, tu, tv]))
    return np.array(rows, dtype="f4")


class BarScene(Scene):
    name = "bar"
    description = "ten lit bars in a row on a glossy floor, one per parameter (VIZ-BAR)"
    params = tuple(Param(f"bar{i}", f"length of bar {i}, left to right") for i in range(1, 11))
    # the middle of the row is nearest the camera and reads best: most dynamic components go there
    importance = ("bar5", "bar6", "bar4", "bar7", "bar3", "bar8", "bar2", "bar9", "bar1", "bar10")
    rest = 0.25  # short bars, a dim glow
    # a hit kicks every bar up, flares their faces and caps and swells the glow around them
    uses_pulse = True

    fovy = math.radians(34)

    def setup(self, ctx, size, seed):
        self.ctx = ctx
        w, h = size
        self.aspect = w / h
        # The row always spans the width, so a frame taller than 16:9 would leave its top and
        # bottom empty: there the bars (and where the camera aims) stretch upwards by as much as
        # the frame is taller, and the bars fill the same share of the height as in 16:9.
        self.stretch = max(1.0, WIDE / self.aspect)
        # stand back far enough that the whole row (and its tallest bar) fits any aspect ratio
        self.distance = fit_distance(self.fovy, self.aspect, 6.0, 2.6 * self.stretch) * 1.02
        self.tan = (math.tan(self.fovy / 2) * self.aspect, math.tan(self.fovy / 2))
        self.proj = perspective(self.fovy, self.aspect, 0.1, 200.0)
        self.sway_phase = (seed % 997) / 997 * 2 * math.pi
        self.floor = self.program(ctx, shader_source("bar_floor.vert"), shader_source("bar_floor.frag"),
                                  names=("bar_floor.vert", "bar_floor.frag"))
        self.shadow = self.program(ctx, shader_source("bar_shadow.vert"), shader_source("bar_shadow.frag"),
                                   names=("bar_shadow.vert", "bar_shadow.frag"))
        names = ("bar.vert", "bar.frag")
        vert, frag = shader_source("bar.vert"), shader_source("bar.frag")
        self.bars = self.program(ctx, vert, frag, names=names)
        self.mirror = self.program(ctx, "#define MIRROR\n" + vert, "#define MIRROR\n" + frag, names=names)
        self.floor_vao = self.screen_grid(ctx, self.floor, 24, 14)
        quad = np.array([[-1, -1], [1, -1], [1, 1], [-1, -1], [1, 1], [-1, 1]], dtype="f4")
        self.shadow_vao = ctx.vertex_array(self.shadow, [(ctx.buffer(quad.tobytes()), "2f", "in_corner")])
        box = ctx.buffer(box_vertices().tobytes())
        self.bar_vaos = [
            ctx.vertex_array(p, [(box, "3f 2f 3f 3f 3f", "in_pos", "in_uv", "in_normal", "in_tu", "in_tv")])
            for p in (self.mirror, self.bars)
        ]
        self.uniforms = [Uniforms(p, size) for p in (self.floor, self.shadow, self.mirror, self.bars)]
        self.floor["u_tan"].value = self.tan
        for p in (self.mirror, self.bars):
            p["u_px_world"].value = 2 * math.tan(self.fovy / 2) / h
            p["u_stretch"].value = self.stretch

    def _camera(self, t: float):
        # a slow sway keeps the picture alive without distracting from the bars
        a = 0.16 * math.sin(2 * math.pi * t / 29.0 + self.sway_phase)
        r = self.distance
        eye = np.array([r * math.sin(a), 0.42 * r, r * math.cos(a)])
        view = look_at(eye, (0.0, 1.25 * self.stretch, 0.0))
        return eye, view

    def draw(self, t, dt, values):
        import moderngl

        ctx = self.ctx
        eye, view = self._camera(t)
        view_proj = gl_bytes(self.proj @ view)
        for u in self.uniforms:
            u.write(t, dt, values, self.pulse)
        ctx.clear(depth=1.0)  # and the colour to (0, 0, 0, 0), where no floor covers it
        ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND | moderngl.CULL_FACE)
        for p in (self.mirror, self.bars):
            p["u_view_proj"].write(view_proj)
            p["u_eye"].value = tuple(eye)
        mirror_vao, bars_vao = self.bar_vaos
        if self.background:
            self.floor["u_cam"].write(gl_bytes(view[:3, :3].T))
            self.floor["u_eye"].value = tuple(eye)
            self.floor["u_level"].value = float(values.mean())
            self.floor_vao.render()

            ctx.enable(moderngl.BLEND | moderngl.CULL_FACE)
            # the reflection (mirrored, so its winding flips), then shadows multiplied over both
            ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
            ctx.front_face = "cw"
            mirror_vao.render(instances=10)
            ctx.front_face = "ccw"
            ctx.disable(moderngl.CULL_FACE)
            ctx.blend_func = moderngl.DST_COLOR, moderngl.ZERO
            self.shadow["u_view_proj"].write(view_proj)
            self.shadow_vao.render(instances=10)

        # the bars' alpha is their coverage: premultiplied, over the floor or over nothing
        ctx.enable(moderngl.BLEND | moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        bars_vao.render(instances=10)
