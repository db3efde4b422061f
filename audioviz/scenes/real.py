"""VIZ-REAL: 26 glossy spheres around the origin under a big sky, lit by a soft sun and seen by
a camera that revolves around them.

Two draws a frame, no post pass: the sky, evaluated on a coarse screen grid and interpolated;
then the spheres, far to near, each a quad that its fragment shader ray-traces exactly (with
soft shadows and occlusion from a few precomputed neighbours), fading its silhouette to an
analytic coverage that blends over whatever lies behind. Without a background (an alpha
channel) the sky and its sun are not drawn, but still light the spheres.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .base import Param, Scene, Uniforms, shader_source

# Directions of a 3x3x3 grid's cells seen from its (empty) centre, in the order the shaders index them.
DIRS = np.array([c for c in itertools.product((-1, 0, 1), repeat=3) if any(c)], dtype=np.float64)
DIRS /= np.linalg.norm(DIRS, axis=1, keepdims=True)

# Nearest neighbours lie 35.3 degrees apart: a chord of 0.606 * distance. At the smallest
# distance the largest spheres just touch, so they never intersect (which the sorting needs).
RADIUS = (0.14, 0.36)
DISTANCE = (1.2, 2.6)
SPEED = (0.01, 0.2)  # revolutions per second
MAX_ELEVATION = math.radians(45)
LIGHT = np.array([0.62, 0.48, 0.36]) / np.linalg.norm([0.62, 0.48, 0.36])
PENUMBRA = 0.12  # real.frag's LIGHT_TAN: how fast a shadow's edge widens with distance
SKY_GRID = (8, 6)  # cells across and up: finer changes the sky by less than 2/255
# The camera frames the spheres as they stand with sphere_radius and sphere_distance at this
# value, from every angle of its revolution at the middle height: at middle values they fill most
# of the frame's narrower side, and at the largest the outer spheres reach a little past it.
FRAMED = 0.75


def camera_distance(tan_x: float, tan_y: float) -> float:
    """How far from the centre the camera must revolve, level with it, for the spheres as
    FRAMED to fit the frame from every angle."""
    radius = RADIUS[0] + (RADIUS[1] - RADIUS[0]) * FRAMED
    centres = DIRS * (DISTANCE[0] + (DISTANCE[1] - DISTANCE[0]) * FRAMED)
    angle = np.linspace(0, 2 * math.pi, 72, endpoint=False)[:, None]
    across = centres[:, 0] * np.cos(angle) - centres[:, 2] * np.sin(angle)
    towards = centres[:, 0] * np.sin(angle) + centres[:, 2] * np.cos(angle)  # the eye
    # a sphere at depth d - towards is in the frame while (|x| + r) / depth <= tan, across and up
    up = np.abs(centres[:, 1]) + radius
    needed = towards + np.maximum((np.abs(across) + radius) / tan_x, up / tan_y)
    return float(needed.max())


def neighbour_lists(k: int) -> np.ndarray:
    """(26, k) sphere indices, -1 padded: per sphere, the spheres that can shadow it or crowd
    it most at the largest radius-to-distance ratio, the most important first."""
    ratio = RADIUS[1] / DISTANCE[0]
    lists = np.full((len(DIRS), k), -1, dtype=np.int32)
    for i, d in enumerate(DIRS):
        q = DIRS - d
        along = q @ LIGHT
        across = np.linalg.norm(q - along[:, None] * LIGHT, axis=1)
        # how much of the light the other sphere can block: 1 when it hides the whole disc
        reach = 2 * ratio + PENUMBRA * np.maximum(along, 0)
        shadow = np.where(along > 0, np.clip((reach - across) / reach, 0, 1), 0)
        crowd = (ratio / np.maximum(np.linalg.norm(q, axis=1) - ratio, 1e-9)) ** 2
        # a missing shadow shows more than missing occlusion, which real.vert lumps for the rest
        score = np.maximum(2 * shadow, crowd)
        score[i] = 0
        best = [j for j in np.argsort(-score, kind="stable")[:k] if score[j] > 0.02]
        lists[i, : len(best)] = best
    return lists


class RealScene(Scene):
    name = "real"
    description = "26 glossy spheres around a centre under a sky, softly lit, the camera revolving (VIZ-REAL)"
    params = (
        Param("sphere_r", "red of the spheres"),
        Param("sphere_g", "green of the spheres"),
        Param("sphere_b", "blue of the spheres"),
        Param("sky_r", "red of the sky"),
        Param("sky_g", "green of the sky"),
        Param("sky_b", "blue of the sky"),
        Param("sphere_radius", "size of every sphere"),
        Param("sphere_distance", "how far the spheres stand from the centre"),
        Param("camera_speed", "how fast the camera revolves around the spheres"),
        Param("camera_height", "camera elevation, from below the spheres to above them"),
    )
    importance = ("sphere_radius", "sphere_distance", "sphere_r", "sphere_g", "sphere_b",
                  "sky_r", "sky_g", "sky_b", "camera_height", "camera_speed")
    rest = 0.5  # mid colours and sizes, the camera level with the spheres
    # a hit bounces the spheres out from the centre, growing, and lights up the sky
    uses_pulse = True

    fovy = math.radians(30)

    def _program(self, ctx, stem: str):
        # real_common.glsl goes before each file; errors inside it name the file it precedes
        common = shader_source("real_common.glsl") + "\n#line 1\n"
        names = (f"{stem}.vert", f"{stem}.frag")
        return self.program(ctx, *(common + shader_source(n) for n in names), names=names)

    def setup(self, ctx, size, seed):
        self.ctx = ctx
        w, h = size
        tan_y = math.tan(self.fovy / 2)
        tan_x = tan_y * w / h
        self.camera_distance = camera_distance(tan_x, tan_y)
        self.angle = (seed * 0.6180339887 % 1.0) * 2 * math.pi

        self.sky = self._program(ctx, "real_sky")
        self.spheres = self._program(ctx, "real")
        self.uniforms = [Uniforms(p, size) for p in (self.sky, self.spheres)]
        for prog in (self.sky, self.spheres):
            prog["u_tan"].value = (tan_x, tan_y)
            prog["u_px"].value = 2 * tan_y / h
            prog["u_light"].value = tuple(LIGHT)
        self.spheres["u_radius_range"].value = RADIUS
        self.spheres["u_distance_range"].value = DISTANCE
        self.spheres["u_dirs"].write(DIRS.astype("f4").tobytes())
        neighbours = self.spheres["u_neighbours"]
        neighbours.write(neighbour_lists(neighbours.array_length // len(DIRS)).tobytes())
        # each camera uniform, in every program that declares it
        self.camera = [[p[n] for p in (self.sky, self.spheres) if n in p]
                       for n in ("u_eye", "u_right", "u_up", "u_forward")]

        self.sky_vao = self.screen_grid(ctx, self.sky, *SKY_GRID)
        self.order = np.zeros(len(DIRS), dtype=np.int32)  # far to near, re-sorted every frame
        self.instances = ctx.buffer(self.order.tobytes())
        self.sphere_vao = ctx.vertex_array(self.spheres, [(self.instances, "1i/i", "in_sphere")])

    def draw(self, t, dt, values):
        import moderngl

        speed = SPEED[0] + (SPEED[1] - SPEED[0]) * min(max(float(values[8]), 0.0), 1.0)
        self.angle = (self.angle + 2 * math.pi * speed * dt) % (2 * math.pi)
        elevation = MAX_ELEVATION * (2 * min(max(float(values[9]), 0.0), 1.0) - 1)
        ca, sa = math.cos(self.angle), math.sin(self.angle)
        ce, se = math.cos(elevation), math.sin(elevation)
        back = (ce * sa, se, ce * ca)  # from the origin towards the eye
        eye = tuple(self.camera_distance * c for c in back)
        basis = (eye, (ca, 0.0, -sa), (-sa * se, ce, -ca * se), tuple(-c for c in back))
        for members, value in zip(self.camera, basis):
            for m in members:
                m.value = value
        for u in self.uniforms:
            u.write(t, dt, values, self.pulse)
        # for equal spheres that never intersect, distance from the eye is a true order
        self.order[:] = np.argsort(DIRS @ back)
        self.instances.write(self.order)

        ctx = self.ctx
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE | moderngl.BLEND)
        if self.background:
            self.sky_vao.render()
        else:
            ctx.clear(0.0, 0.0, 0.0, 0.0)
        # premultiplied: a sphere's alpha is its coverage, over the sky or over nothing
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        self.sphere_vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=len(DIRS))
