"""VIZ-SATURN: a morphing low-poly planet inside five rings of bobbing particles, under a
starry sky with faint nebulae.

Design choices that matter:
- The planet is an icosphere (320 facets) displaced along its normals by a few drifting plane
  waves: smooth, seeded, and a function of time only, so the relief glides and never pops.
  It is shaded flat per facet, and anti-aliased analytically: each vertex knows its face's
  neighbours, so inner edges blend towards the neighbour's colour and silhouette edges are
  pushed out 1.5 px and faded to coverage (MSAA would cost more than the whole frame).
- The rings are a few thousand point sprites with a smooth radial falloff. Each frame the CPU
  orders them (per band they are sorted by angle, so this is a few index ranges) into those
  beyond the planet's centre, drawn before the planet, and the rest, drawn after it: the planet
  hides exactly the particles behind it, its soft edge included, with no depth test and no
  vertex shaded twice. On llvmpipe each sprite costs about half a microsecond whatever its
  size, so the count is what the frame budget allows, not more.
- Each band turns at its own Kepler-like rate (inner faster), integrated with the frame's dt;
  particles bob on per-ring waves with per-particle jitter, so the rings undulate coherently.
- Light comes from one sun: a soft terminator, the rings' shadow on the planet (per facet),
  the planet's shadow on the rings (per particle), a thin atmosphere rim and glow.
- The sky is computed per vertex on a coarse grid; stars are sprites twinkling over seconds.
  Without a background (an alpha channel) neither is drawn: the planet, its glow and the
  rings are the subject.
- The camera stands as close as lets rings of middle radii fit the picture at every tilt, so
  they fill it; larger ones reach past its edges. A frame taller than 16:9 rolls the whole
  system on screen, so the rings lie along the frame's length rather than across it.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

from .base import Param, Scene, Uniforms, shader_source
from .camera import gl_bytes, perspective

PLANET_RADIUS = (0.62, 1.12)  # world units
MORPH = (0.02, 0.24)          # relief amplitude, a fraction of the planet's radius
RING_SPEED = (0.006, 0.08)    # revolutions per second of the innermost band
RING_INNER = (1.55, 2.15)     # world units: beyond the planet's largest bulge (1.12 * (1 + 0.24))
RING_SPAN = (0.55, 1.35)      # outer radius = inner + span, so the outer is always beyond the inner
PARTICLE_SIZE = (0.02, 0.05)  # particle diameter, world units (about 3 to 8 px at 720p)
OSCILLATION = (0.0, 0.28)     # how far particles bob out of the ring plane, world units
ROLL = (-4.0, 22.0)           # tilt: the axis leaning sideways on screen, degrees
ELEVATION = (8.0, 26.0)       # tilt: the axis leaning towards the eye (rings opening up), degrees

SPIN = 0.05                   # the planet's own rotation, radians per second
SUBDIVISIONS = 2              # icosphere: 20 * 4^2 = 320 facets
N_PARTICLES = 8000            # all five bands together
N_STARS = 700
BANDS = 5
WAVES = 8                     # plane waves in the planet's relief
# Towards the sun, in the planet's frame: low over the rings (14 degrees), so the planet's
# shadow reaches across them, and from the front left, so the terminator shows on the right.
SUN_ELEVATION, SUN_AZIMUTH = math.radians(14), math.radians(58)
LIGHT = np.array([-math.cos(SUN_ELEVATION) * math.sin(SUN_AZIMUTH), math.sin(SUN_ELEVATION),
                  math.cos(SUN_ELEVATION) * math.cos(SUN_AZIMUTH)])
FOVY = math.radians(30)
# The camera frames rings of middle radii and bobbing (every such parameter at 0.5): at the
# strongest tilt they reach this far to the edge (NDC); larger rings reach past it.
MARGIN = 0.97
FRAMED = 0.5
# Rings are far wider than tall. In a frame taller than 16:9 the whole system rolls on screen by
# this many times the angle its diagonal turns from 16:9's, so the rings lie along the frame,
# not across it: at 9:16, about 60 degrees.
ROLL_TALL = 2.0
WIDE = 16 / 9


def lerp(lo_hi: tuple[float, float], x: float) -> float:
    x = min(max(float(x), 0.0), 1.0)
    return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * x


def frame_roll(aspect: float) -> float:
    """Degrees the system rolls on screen for the frame's shape: 0 at 16:9 and wider."""
    turn = math.degrees(math.atan(1 / aspect) - math.atan(1 / WIDE))
    return ROLL_TALL * max(turn, 0.0)


def tilt_matrix(tilt: float, roll: float = 0.0) -> np.ndarray:
    """System -> view rotation for a tilt in [0, 1]: roll on screen (the tilt's, plus `roll`
    degrees), then lean towards the eye."""
    roll = math.radians(lerp(ROLL, tilt) + roll)
    elevation = math.radians(lerp(ELEVATION, tilt))
    cr, sr, ce, se = math.cos(roll), math.sin(roll), math.cos(elevation), math.sin(elevation)
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, ce, -se], [0, se, ce]])
    return rz @ rx


def fit_distance_numeric(aspect: float, roll: float) -> float:
    """How far back the eye must stand for the rings framed (FRAMED), bobbing their highest,
    to fit within MARGIN at every tilt (the near side looms larger, so the bound is found
    numerically)."""
    r = lerp(RING_INNER, FRAMED) + lerp(RING_SPAN, FRAMED) + lerp(PARTICLE_SIZE, FRAMED)
    bob = lerp(OSCILLATION, FRAMED)
    a = np.linspace(0, 2 * math.pi, 181)
    ring = np.concatenate([np.stack([r * np.cos(a), np.full_like(a, y), r * np.sin(a)], axis=1)
                           for y in (-bob, bob)])
    points = np.concatenate([ring @ tilt_matrix(t, roll).T for t in np.linspace(0, 1, 11)])
    tan_y = math.tan(FOVY / 2)
    tan_x = tan_y * aspect
    lo, hi = 1.0, 100.0
    for _ in range(50):
        d = (lo + hi) / 2
        depth = d - points[:, 2]
        reach = max(np.max(np.abs(points[:, 0]) / (depth * tan_x)), np.max(np.abs(points[:, 1]) / (depth * tan_y)))
        lo, hi = (d, hi) if reach > MARGIN else (lo, d)
    return hi


def hsl_linear(h: float, s: float, light: float) -> tuple[float, float, float]:
    """An HSL colour as linear RGB (gamma 2, as common.glsl)."""
    return tuple(c * c for c in colorsys.hls_to_rgb(h % 1.0, light, s))


def icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit vertices (V, 3) and faces (F, 3), counter-clockwise seen from outside."""
    g = (1 + 5 ** 0.5) / 2
    verts = [(-1, g, 0), (1, g, 0), (-1, -g, 0), (1, -g, 0), (0, -1, g), (0, 1, g),
             (0, -1, -g), (0, 1, -g), (g, 0, -1), (g, 0, 1), (-g, 0, -1), (-g, 0, 1)]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
             (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
             (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    verts = [np.array(v, dtype=np.float64) / np.linalg.norm(v) for v in verts]
    for _ in range(subdivisions):
        midpoint: dict[tuple[int, int], int] = {}

        def mid(i: int, j: int) -> int:
            key = (min(i, j), max(i, j))
            if key not in midpoint:
                m = verts[i] + verts[j]
                verts.append(m / np.linalg.norm(m))
                midpoint[key] = len(verts) - 1
            return midpoint[key]

        new = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new
    return np.array(verts), np.array(faces, dtype=np.int64)


def planet_vertices(subdivisions: int) -> np.ndarray:
    """(F * 3, 19) float32: per face corner, the face's corners a b c, the far corners of the
    faces across ab, bc and ca, and which corner this is (see saturn_planet.vert)."""
    verts, faces = icosphere(subdivisions)
    opposite = {}  # directed edge (i, j) of a face -> that face's third corner
    for a, b, c in faces:
        opposite[(a, b)], opposite[(b, c)], opposite[(c, a)] = c, a, b
    rows = []
    for a, b, c in faces:
        # the neighbour across edge ab walks it as ba
        far = [opposite[(b, a)], opposite[(c, b)], opposite[(a, c)]]
        corners = np.concatenate([verts[[a, b, c]].ravel(), verts[far].ravel()])
        rows += [np.concatenate([corners, [k]]) for k in range(3)]
    return np.array(rows, dtype="f4")


class RingLayout:
    """Five bands between the inner and outer radius, and the particles within them (seeded)."""

    def __init__(self, rng: np.random.Generator):
        widths = rng.uniform(0.7, 1.5, BANDS)
        gaps = rng.uniform(0.15, 0.4, BANDS - 1)
        starts = np.concatenate([[0.0], np.cumsum(widths[:-1] + gaps)])
        total = starts[-1] + widths[-1]
        self.fractions = np.stack([starts, starts + widths], axis=1) / total  # of the span
        self.density = rng.uniform(0.3, 0.75, BANDS)  # of light blocked: the planet's ring shadow
        self.hue_offset = rng.uniform(-0.06, 0.06, BANDS)
        self.lightness = rng.uniform(0.48, 0.66, BANDS)
        self.saturation = rng.uniform(0.38, 0.6, BANDS)
        self.particles = self._particles(rng)

    def _jittered_grid(self, rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """n points in [0, 1)^2 (around, across band k), one per cell of a grid whose cells are
        about square on the ring: even like a lattice, without clumps, yet with no visible rows."""
        lo, hi = (RING_INNER[0] + RING_INNER[1]) / 2 + (RING_SPAN[0] + RING_SPAN[1]) / 2 * self.fractions[k]
        rows = max(1, round(math.sqrt(n * (hi - lo) / (math.pi * (lo + hi)))))
        cols = -(-n // rows)
        cells = rng.choice(rows * cols, n, replace=False)
        u = (cells % cols + rng.random(n)) / cols
        w = (cells // cols + rng.random(n)) / rows
        return u, w

    def _particles(self, rng: np.random.Generator) -> np.ndarray:
        centre = self.fractions.mean(axis=1)
        weight = (self.fractions[:, 1] - self.fractions[:, 0]) * (0.6 + centre)
        counts = np.floor(N_PARTICLES * weight / weight.sum()).astype(int)
        counts[-1] += N_PARTICLES - counts.sum()
        # each ring undulates as a whole: a few waves around it, at its own rate
        lobes = rng.integers(2, 6, BANDS)
        rates = rng.uniform(0.8, 1.7, BANDS)  # rad/s
        rows = []
        for k, n in enumerate(counts):
            u, w = self._jittered_grid(rng, n, k)
            angle = 2 * math.pi * u
            # radially, half even and half thinning towards the edges, so each band's rim is soft
            radial = 0.5 * w + 0.5 * np.arccos(1 - 2 * w) / math.pi
            bright = np.exp(rng.normal(0.0, 0.25, n)) * (0.55 + 0.45 * self.density[k] / 0.75)
            phase = lobes[k] * angle + rng.normal(0.0, 0.3, n)
            rate = rates[k] * np.exp(rng.normal(0.0, 0.04, n))
            amplitude = rng.uniform(0.6, 1.0, n)
            size = np.exp(rng.normal(0.0, 0.3, n))
            order = np.argsort(angle)  # sorted by angle, so half a ring is a contiguous range
            rows.append(np.stack([np.full(n, k), radial, angle, bright, phase, rate, amplitude, size], axis=1)[order])
        self.counts = counts
        self.offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.theta = [r[:, 2].astype("f4").astype(np.float64) for r in rows]  # each band's, ascending
        return np.concatenate(rows).astype("f4")

    def split(self, rotation: np.ndarray, away: float) -> tuple[np.ndarray, int]:
        """Particle indices, those beyond the planet's centre first, and how many they are.

        `rotation`: each band's turn so far; `away`: the angle, in the ring plane, of the
        direction from the eye to the planet. Bobbing is ignored: it only moves the split near
        the sides of the rings, where no particle overlaps the planet on screen."""
        far, near = [], []
        for k in range(BANDS):
            n, theta = self.counts[k], self.theta[k]
            lo = (away - rotation[k] - math.pi / 2) % (2 * math.pi)
            start = np.searchsorted(theta, lo)
            end = np.searchsorted(theta, lo + math.pi) if lo < math.pi else n + np.searchsorted(theta, lo - math.pi)
            idx = (np.arange(start, start + n) % n) + self.offsets[k]
            far.append(idx[: end - start])
            near.append(idx[end - start:])
        beyond = np.concatenate(far)
        return np.concatenate([beyond] + near).astype("i4"), len(beyond)


class SaturnScene(Scene):
    name = "saturn"
    description = "a morphing low-poly planet inside five rings of bobbing particles, in a starry sky"
    params = (
        Param("planet_hue", "hue of the planet and its atmosphere"),
        Param("planet_morph", "how far the planet's surface swells and sinks"),
        Param("planet_size", "radius of the planet"),
        Param("ring_speed", "how fast the rings revolve (inner bands faster)"),
        Param("ring_hue", "hue of the rings"),
        Param("particle_size", "size of the ring particles"),
        Param("ring_inner", "inner radius of the rings"),
        Param("ring_outer", "outer radius of the rings, always beyond the inner one"),
        Param("oscillation", "how far the particles bob out of the ring plane"),
        Param("tilt", "tilt of the planet's axis and its rings"),
    )
    # the planet's size and relief are the largest, most immediate motions; tilt moves the
    # whole picture, so it suits the slowest component
    importance = ("planet_size", "planet_morph", "oscillation", "ring_outer", "particle_size",
                  "ring_inner", "ring_speed", "planet_hue", "ring_hue", "tilt")
    rest = 0.35  # a calm planet, slow rings, little bobbing
    # a hit flares the rings, their particles swelling and lighting up, and the atmosphere's glow
    uses_pulse = True

    def _program(self, ctx, stem: str):
        common = shader_source("saturn_common.glsl") + "\n#line 1\n"
        names = (f"{stem}.vert", f"{stem}.frag")
        return self.program(ctx, *(common + shader_source(n) for n in names), names=names)

    def setup(self, ctx, size, seed):
        self.ctx = ctx
        w, h = size
        rng = np.random.default_rng(seed)
        self.layout = RingLayout(rng)
        self.roll = frame_roll(w / h)
        self.distance = fit_distance_numeric(w / h, self.roll)
        self.centre = np.array([0.0, 0.0, -self.distance])
        self.angles = rng.uniform(0, 2 * math.pi, BANDS)  # each band's rotation, integrated
        self.spin_phase = rng.uniform(0, 2 * math.pi)

        self.sky = self._program(ctx, "saturn_sky")
        self.stars = self._program(ctx, "saturn_stars")
        self.ring = self._program(ctx, "saturn_ring")
        self.halo = self._program(ctx, "saturn_halo")
        self.planet = self._program(ctx, "saturn_planet")
        self.programs = (self.sky, self.stars, self.ring, self.halo, self.planet)
        self.uniforms = [Uniforms(p, size) for p in self.programs]

        self._setup_sky(ctx, size, rng)
        self._setup_planet(ctx, rng)
        focal = (h / 2) / math.tan(FOVY / 2)
        self._set("u_proj", gl_bytes(perspective(FOVY, w / h, 0.5, 100.0)))
        self._set("u_centre", tuple(self.centre))
        self._set("u_light_sys", tuple(LIGHT))
        self._set("u_focal", focal)
        self._set("u_band_density", self.layout.density.astype("f4").tobytes())

        particles = ctx.buffer(self.layout.particles.tobytes())
        self.ring_order = ctx.buffer(reserve=N_PARTICLES * 4)  # rewritten each frame: far ones, then near
        self.n_far = 0
        self.ring_vao = ctx.vertex_array(self.ring, [(particles, "4f 4f", "in_ring", "in_wave")],
                                         index_buffer=self.ring_order, index_element_size=4)
        self.halo_vao = ctx.vertex_array(self.halo, [])
        # uniforms written every frame, in each program that declares them
        per_frame = ("u_model", "u_light", "u_band", "u_radius", "u_morph", "u_spin", "u_hue",
                     "u_eye_sys", "u_angle", "u_oscillation", "u_size", "u_colour", "u_glow")
        self.frame_uniforms = {n: [p[n] for p in self.programs if n in p] for n in per_frame}

    def _set(self, name: str, value) -> None:
        for p in self.programs:
            if name in p:
                if isinstance(value, bytes):
                    p[name].write(value)
                else:
                    p[name].value = value

    def _setup_sky(self, ctx, size, rng) -> None:
        w, h = size
        longer = max(w, h)
        self.sky["u_fit"].value = (w / min(w, h), h / min(w, h))
        self.sky["u_offset"].value = tuple(rng.uniform(-50, 50, 2))
        hue = rng.uniform(0.55, 0.8)
        self.sky["u_nebula_a"].value = tuple(0.05 * np.array(hsl_linear(hue, 0.7, 0.5)))
        self.sky["u_nebula_b"].value = tuple(0.035 * np.array(hsl_linear(hue + rng.uniform(0.2, 0.35), 0.7, 0.5)))
        self.sky_vao = self.screen_grid(ctx, self.sky, max(8, round(20 * w / longer)), max(8, round(20 * h / longer)))

        pos = rng.uniform(-1, 1, (N_STARS, 2))
        bright = 0.12 + 0.88 * rng.random(N_STARS) ** 6
        stars = np.column_stack([pos, bright, rng.random(N_STARS), rng.uniform(0.4, 1.6, N_STARS),
                                 rng.uniform(0, 2 * math.pi, N_STARS)]).astype("f4")
        self.stars["u_px_scale"].value = min(w, h) / 720
        self.stars_vao = ctx.vertex_array(self.stars, [(ctx.buffer(stars.tobytes()), "2f 4f", "in_pos", "in_star")])

    def _setup_planet(self, ctx, rng) -> None:
        # relief: plane waves of random direction and frequency, the larger ones stronger
        dirs = rng.normal(size=(WAVES, 3))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        freq = rng.uniform(1.8, 4.5, WAVES)
        amp = 1.0 / np.sqrt(freq)
        amp *= 0.45 / np.sqrt(0.5 * np.sum(amp ** 2))  # a standard deviation of 0.45: within [-1, 1] nearly always
        waves = np.column_stack([dirs * freq[:, None], amp]).astype("f4")
        phase = np.column_stack([rng.uniform(0, 2 * math.pi, WAVES),
                                 rng.uniform(0.12, 0.35, WAVES) * rng.choice([-1, 1], WAVES)]).astype("f4")
        self.planet["u_waves"].write(waves.tobytes())
        self.planet["u_wave_phase"].write(phase.tobytes())
        self.planet["u_stripe_phase"].value = rng.uniform(0, 2 * math.pi)
        data = ctx.buffer(planet_vertices(SUBDIVISIONS).tobytes())
        self.planet_vao = ctx.vertex_array(self.planet, [(data, "3f 3f 3f 3f 3f 3f 1f", "in_a", "in_b", "in_c",
                                                         "in_oab", "in_obc", "in_oca", "in_corner")])

    # -- per frame ----------------------------------------------------------------------------
    def _band_radii(self, v: np.ndarray) -> np.ndarray:
        """(5, 2) inner and outer radius of each band: the span is added to the inner radius."""
        return lerp(RING_INNER, v[6]) + lerp(RING_SPAN, v[7]) * self.layout.fractions

    def _turn_rings(self, dt: float, v: np.ndarray, bands: np.ndarray) -> None:
        # Kepler: angular speed falls with radius^1.5; integrated, so a speed change never jumps
        mid = bands.mean(axis=1)
        omega = 2 * math.pi * lerp(RING_SPEED, v[3]) * (mid[0] / mid) ** 1.5
        self.angles = (self.angles + omega * dt) % (2 * math.pi)

    def _order_particles(self, model: np.ndarray) -> None:
        away = model.T @ self.centre  # from the eye to the planet, in system space
        order, self.n_far = self.layout.split(self.angles, math.atan2(-away[2], away[0]))
        self.ring_order.write(order)

    def _uniform_values(self, t: float, v: np.ndarray, model: np.ndarray, bands: np.ndarray) -> dict:
        """Everything the shaders need this frame, from the ten parameters."""
        lay = self.layout
        colours = [hsl_linear(float(v[4]) + lay.hue_offset[k], lay.saturation[k], lay.lightness[k])
                   for k in range(BANDS)]
        glow = np.sqrt(hsl_linear(float(v[0]) - 0.06, 0.6, 0.62)) * 0.3  # display space: it is added last
        return {
            "u_model": gl_bytes(model),
            "u_light": tuple(model @ LIGHT),
            "u_eye_sys": tuple(model.T @ -self.centre),
            "u_band": bands.astype("f4").tobytes(),
            "u_radius": lerp(PLANET_RADIUS, v[2]),
            "u_morph": lerp(MORPH, v[1]),
            "u_spin": self.spin_phase + SPIN * t,
            "u_hue": float(v[0]),
            "u_angle": self.angles.astype("f4").tobytes(),
            "u_oscillation": lerp(OSCILLATION, v[8]),
            "u_size": lerp(PARTICLE_SIZE, v[5]),
            "u_colour": np.array(colours, dtype="f4").tobytes(),
            "u_glow": tuple(glow),
        }

    def draw(self, t, dt, values):
        import moderngl

        bands = self._band_radii(values)
        self._turn_rings(dt, values, bands)
        model = tilt_matrix(values[9], self.roll)
        self._order_particles(model)
        for name, value in self._uniform_values(t, values, model, bands).items():
            for u in self.frame_uniforms[name]:
                if isinstance(value, bytes):
                    u.write(value)
                else:
                    u.value = value
        for u in self.uniforms:
            u.write(t, dt, values, self.pulse)

        ctx = self.ctx
        ctx.clear(depth=1.0)  # and the colour to (0, 0, 0, 0), where no sky covers it
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE | moderngl.BLEND)
        if self.background:
            self.sky_vao.render()
        # Premultiplied: the particles' and the planet's alpha is their coverage; the stars and
        # the atmosphere's glow add light and leave alpha alone, so that over nothing the
        # straight-alpha pass makes the glow's brightness its coverage.
        ctx.enable(moderngl.BLEND | moderngl.PROGRAM_POINT_SIZE)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        if self.background:
            self.stars_vao.render(moderngl.POINTS)
        self.ring_vao.render(moderngl.POINTS, vertices=self.n_far)  # the particles beyond the planet's centre
        self.halo_vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
        ctx.enable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        ctx.front_face = "ccw"
        self.planet_vao.render()
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self.ring_vao.render(moderngl.POINTS, vertices=N_PARTICLES - self.n_far, first=self.n_far)  # and the rest
