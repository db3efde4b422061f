"""VIZ-REAL: 26 glossy spheres around the origin under a big sky, lit by a soft sun, seen by
a camera that revolves around them.

Everything is one instanced draw: the sky as a full-screen quad, then the spheres as impostor
quads ray-traced exactly in the fragment shader, far to near, so their anti-aliased silhouettes
blend over whatever lies behind without a depth buffer or a post pass.
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
RADIUS = (0.10, 0.36)
DISTANCE = (1.2, 2.6)
SPEED = (0.01, 0.2)  # revolutions per second
MAX_ELEVATION = math.radians(45)
LIGHT = np.array([0.62, 0.48, 0.36]) / np.linalg.norm([0.62, 0.48, 0.36])
LIGHT_TAN = 0.12  # as in real.frag: how wide penumbrae grow with distance


def neighbour_lists(k: int) -> np.ndarray:
    """(26, k) sphere indices, -1 padded: per sphere, the spheres that may shadow it or darken
    it by occlusion at the largest radius-to-distance ratio, the most important first."""
    ratio = RADIUS[1] / DISTANCE[0]
    lists = np.full((len(DIRS), k), -1, dtype=np.int32)
    for i, d in enumerate(DIRS):
        q = DIRS - d
        along = q @ LIGHT
        across = np.linalg.norm(q - along[:, None] * LIGHT, axis=1)
        # how much of the light the other sphere can block: 1 when it hides the whole disc
        reach = 2 * ratio + LIGHT_TAN * np.maximum(along, 0)
        shadow = np.where(along > 0, np.clip((reach - across) / reach, 0, 1), 0)
        dist = np.linalg.norm(q, axis=1)
        crowd = (ratio / np.maximum(dist - ratio, 1e-9)) ** 2
        score = np.maximum(shadow, crowd)
        score[i] = 0
        best = [j for j in np.argsort(-score, kind="stable")[:k] if score[j] > 0.02]
        lists[i, : len(best)] = best
    return lists


class RealScene(Scene):
    name = "real"
    description = "26 glossy spheres on a grid's directions under a sky, lit by a soft sun, the camera revolving (VIZ-REAL)"
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

    fovy = math.radians(30)

    def setup(self, ctx, size, seed):
        self.ctx = ctx
        w, h = size
        tan_y = math.tan(self.fovy / 2)
        tan_x = tan_y * w / h
        # far enough that the spheres' bounding ball fits the narrower side from any angle
        half_fov = math.atan(min(tan_x, tan_y))
        self.distance = (DISTANCE[1] + RADIUS[1]) / math.sin(half_fov) * 1.06
        self.angle = (seed * 0.6180339887 % 1.0) * 2 * math.pi

        prog = self.program(ctx, shader_source("real.vert"), shader_source("real.frag"),
                            names=("real.vert", "real.frag"))
        self.prog = prog
        self.uniforms = Uniforms(prog, size)
        prog["u_tan"].value = (tan_x, tan_y)
        prog["u_px"].value = 2 * tan_y / h
        prog["u_radius_range"].value = RADIUS
        prog["u_distance_range"].value = DISTANCE
        prog["u_dirs"].write(DIRS.astype("f4").tobytes())
        prog["u_light"].value = tuple(LIGHT)
        k = prog["u_neighbours"].array_length // len(DIRS)
        prog["u_neighbours"].write(neighbour_lists(k).tobytes())
        self.u_eye, self.u_right, self.u_up, self.u_forward = (
            prog[n] for n in ("u_eye", "u_right", "u_up", "u_forward"))

        # instance 0 is the sky; the rest are the spheres, re-sorted every frame
        self.order = np.arange(-1, len(DIRS), dtype=np.int32)
        self.instances = ctx.buffer(self.order.tobytes())
        self.vao = ctx.vertex_array(prog, [(self.instances, "1i/i", "in_sphere")])

    def draw(self, t, dt, values):
        import moderngl

        speed = SPEED[0] + (SPEED[1] - SPEED[0]) * float(values[8])
        self.angle = (self.angle + 2 * math.pi * speed * dt) % (2 * math.pi)
        elevation = MAX_ELEVATION * (2 * float(values[9]) - 1)
        ca, sa = math.cos(self.angle), math.sin(self.angle)
        ce, se = math.cos(elevation), math.sin(elevation)
        back = (ce * sa, se, ce * ca)  # from the origin towards the eye
        self.u_eye.value = tuple(self.distance * c for c in back)
        self.u_forward.value = tuple(-c for c in back)
        self.u_right.value = (ca, 0.0, -sa)
        self.u_up.value = (-sa * se, ce, -ca * se)
        # far to near: for equal spheres that never intersect, centre distance is a true order
        self.order[1:] = np.argsort(DIRS @ back)
        self.instances.write(self.order)
        self.uniforms.write(t, dt, values)

        ctx = self.ctx
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        self.vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=len(self.order))
