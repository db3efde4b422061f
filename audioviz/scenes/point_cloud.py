"""POINT-CLOUD: four rotating clouds of glowing points in exponential fog, under a night sky.

The four clouds differ in shape so that each reads on its own and its rotation shows: a spiral
galaxy spinning about its pole, a hollow shell wound by a spiral, a tumbling braided torus and a
clumpy nebula. Each turns about its own axis, leaning off the shape's symmetry so that the
turning shows. The details of every shape and the start angles come from the seed.

Two draws a frame, no post pass (a full-screen pass costs as much as all the points on a
software rasteriser):
- the sky: the fog colour (or, in clear air, a near-black night) with a gentle vertical
  gradient and the glow the clouds scatter into the fog, all evaluated on a coarse screen grid
  and interpolated;
- the points, as soft round sprites whose radial falloff reaches zero at the sprite's edge
  (analytic anti-aliasing), screen-blended (`src + dst * (1 - src)`). Screen blending is
  commutative, so no sorting, and it saturates smoothly where points pile up: a cheap tone map
  that keeps dense cores from clipping to a flat colour.

Fog is exp(-density * depth) per point, with depth counted from just before the nearest cloud,
so the densest fog still leaves the nearest cloud clear and hides the farthest. Sprite sizes
are in world units and scale with the narrower side of the frame, so a portrait render looks
like a landscape one. Sprites smaller than MIN_SPRITE pixels are drawn at that size but dimmer,
with the same total light, so small points never shimmer.

Without a background (an alpha channel) the clouds are drawn alone: no sky, no fog colour, no
stars; the fog still dims the farther clouds' light, as in the full picture.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

from .base import Param, Scene, Uniforms, shader_source
from .camera import gl_bytes, look_at

N_CLOUDS = 4
SPEED = 0.2  # revolutions per second at a speed parameter of 0 or 1 (opposite ways); 0.5 is still
FOG_DENSITY = (0.0, 0.42)  # per world unit past the fog's start
FOG_START = 2.2  # world units in front of the scene's centre where the fog begins
FOV = math.radians(40)  # across the narrower side of the frame
MIN_SPRITE = 2.0  # pixels: the smallest sprite still round and steady
SWELL = 0.2  # a hit swells every cloud about its centre by this share (and flares it, in the shaders)
# Clouds are bright, fog dark and greyish: HSL saturation and lightness of each (hue is a param).
CLOUD_HSL = (0.85, 0.56)
FOG_HSL = (0.15, 0.20)
HUE_SPREAD = 0.045  # hue shift of a point at full tint: variety that keeps the cloud's hue
HOT = (-0.3, 0.2)  # saturation and lightness change at full positive tint: pale hot cores
STAR_PALETTE = ((0.60, 0.45, 0.80), (0.60, 0.10, 0.85), (0.10, 0.45, 0.80))  # HSL at tint -1, 0, 1
SKY_GRID = (20, 12)  # cells: fine enough that the clouds' glow in the fog stays round

# Where the clouds' centres sit: across and up, as shares of the frame's half-width and
# half-height (a quadrant each), and towards the camera, world units (staggered in depth so the
# fog tells near from far). The camera stands as close as lets every cloud fill its quadrant.
LAYOUT = (
    (-0.5, 0.5, -0.60),  # galaxy
    (0.5, 0.5, -1.80),  # shell
    (0.5, -0.5, 0.80),  # ring
    (-0.5, -0.5, 0.60),  # nebula
)
# A frame longer than square would leave each round cloud's quadrant part empty: along its
# longer side the clouds slide apart into a zigzag, by up to this share of the half-side at
# 16:9 or 9:16. Wide: the top row slides left, the bottom one right. Tall: the left column
# slides up, the right one down.
ZIGZAG = 0.2
OBLONG = 16 / 9
FILL = 95  # percentile of a cloud's points from its centre that its quadrant must hold


def _rows(pos, size, bright, tint) -> np.ndarray:
    """Per point: position (3), sprite diameter (world units), brightness, tint in [-1, 1]
    (shifts hue a little and lightness up: the hot cores and the cooler outskirts)."""
    n = len(pos)
    cols = [pos, np.broadcast_to(size, n)[:, None], np.broadcast_to(bright, n)[:, None],
            np.broadcast_to(tint, n)[:, None]]
    return np.concatenate(cols, axis=1).astype("f4")


def _sizes(rng, n, median, haze=0.05) -> tuple[np.ndarray, np.ndarray]:
    """Mostly small points, a few large dim ones that read as haze: diameters and brightness."""
    size = median * rng.lognormal(0.0, 0.35, n)
    bright = rng.uniform(0.45, 0.8, n)
    big = rng.random(n) < haze
    size[big] *= rng.uniform(4.0, 7.0, big.sum())
    bright[big] *= 0.08
    return size, bright


def galaxy(rng, n: int) -> np.ndarray:
    """A spiral disc about +y: logarithmic arms, a bright bulge, a thin scatter between."""
    arms = int(rng.choice([2, 3]))
    pitch = math.radians(rng.uniform(14, 22))
    bulge = rng.random(n) < 0.16
    scale = 0.42  # an exponential disc, truncated at the rim
    r = 0.06 - scale * np.log(1 - rng.random(n) * (1 - math.exp(-0.94 / scale)))
    arm = rng.integers(0, arms, n)
    theta = arm * 2 * math.pi / arms + np.log(r / 0.06) / math.tan(pitch)
    theta += rng.normal(0, 0.28, n) * (1.2 - r)  # arms fray towards the centre
    dust = rng.random(n) < 0.2  # between the arms
    theta[dust] = rng.uniform(0, 2 * math.pi, dust.sum())
    pos = np.stack([r * np.cos(theta), rng.normal(0, 0.03, n) * (1.2 - r), r * np.sin(theta)], axis=1)
    pos[bulge] = rng.normal(0, [0.13, 0.08, 0.13], (bulge.sum(), 3))
    size, bright = _sizes(rng, n, 0.028)
    tint = np.where(bulge, 0.9, 0.35 - 0.9 * r) + rng.normal(0, 0.15, n)
    bright[bulge] *= 1.2
    return _rows(pos * 1.3, size, bright, np.clip(tint, -1, 1))


def shell(rng, n: int) -> np.ndarray:
    """A hollow sphere wound pole to pole by a spiral of points, like a ball of yarn; its pole
    lies 50 degrees off +y, the spin axis, so the windings sweep across as it turns."""
    turns = rng.uniform(9.0, 12.0)
    s = rng.random(n)
    y = 2 * s - 1  # uniform in y is uniform in area
    lon = 2 * math.pi * turns * s + rng.normal(0, 0.05, n) / np.sqrt(1 - y * y + 0.02)
    dust = rng.random(n) < 0.15
    lon[dust] = rng.uniform(0, 2 * math.pi, dust.sum())
    r = np.sqrt(1 - y * y)
    d = np.stack([r * np.cos(lon), y, r * np.sin(lon)], axis=1)
    size, bright = _sizes(rng, n, 0.026, haze=0.03)
    tint = 0.4 * y + rng.normal(0, 0.2, n)
    return _rows(d @ _tilt(50).T * 0.8, size, bright, np.clip(tint, -1, 1))


def _tilt(degrees: float) -> np.ndarray:
    """Rotation about x: how far a shape's own symmetry axis leans off its spin axis."""
    a = math.radians(degrees)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def ring(rng, n: int) -> np.ndarray:
    """A torus whose points follow two helices wound opposite ways around the tube, a braided
    lattice; its symmetry axis lies 65 degrees off +y, the spin axis, so the ring tumbles."""
    major, minor = 0.68, 0.15
    turns = int(rng.integers(12, 17))
    phi = rng.uniform(0, 2 * math.pi, n)  # around the ring
    way = rng.choice([-1.0, 1.0], n)
    psi = way * turns * phi + rng.normal(0, 0.08, n)  # around the tube, along either helix
    loose = rng.random(n) < 0.35
    psi[loose] = rng.uniform(0, 2 * math.pi, loose.sum())
    rho = minor + rng.normal(0, 0.01, n)
    c = major + rho * np.cos(psi)
    pos = np.stack([c * np.cos(phi), rho * np.sin(psi), c * np.sin(phi)], axis=1)
    size, bright = _sizes(rng, n, 0.024, haze=0.03)
    tint = 0.6 * np.cos(psi) + rng.normal(0, 0.15, n)  # the outer rim brighter
    return _rows(pos @ _tilt(65).T, size, bright, np.clip(tint, -1, 1))


def nebula(rng, n: int) -> np.ndarray:
    """A hot core and a few seeded clumps around it in a loose gaussian halo, lopsided so that
    its spin shows."""
    k = int(rng.integers(4, 7))
    centres = np.zeros((k, 3))
    centres[1:] = _spread_directions(rng, k - 1) * rng.uniform(0.3, 0.5, (k - 1, 1))
    sigma = rng.uniform(0.06, 0.12, k)
    tints = rng.uniform(-0.6, 0.5, k)
    tints[0] = 0.8
    which = rng.integers(0, k, n)
    pos = centres[which] + rng.normal(0, 1, (n, 3)) * sigma[which, None]
    loose = rng.random(n) < 0.3  # a halo around the clumps
    pos[loose] = rng.normal(0, 0.32, (loose.sum(), 3))
    size, bright = _sizes(rng, n, 0.027, haze=0.06)
    tint = np.where(loose, -0.4, tints[which]) + rng.normal(0, 0.15, n)
    return _rows(pos, size, bright, np.clip(tint, -1, 1))


def _spread_directions(rng, k: int) -> np.ndarray:
    """k unit vectors well apart: each the farthest of 64 random candidates from those chosen."""
    cand = rng.normal(0, 1, (64, 3))
    cand /= np.linalg.norm(cand, axis=1, keepdims=True)
    chosen = [cand[0]]
    for _ in range(k - 1):
        chosen.append(cand[np.argmin((cand @ np.array(chosen).T).max(axis=1))])
    return np.array(chosen)


def stars(rng, n: int, distance: float) -> np.ndarray:
    """Faint stars far behind the clouds, on a cap facing the camera: the clear night's sky.
    The fog hides them first."""
    z = rng.uniform(math.cos(math.radians(70)), 1.0, n)
    a = rng.uniform(0, 2 * math.pi, n)
    s = np.sqrt(1 - z * z)
    pos = np.stack([s * np.cos(a), s * np.sin(a), -z], axis=1) * distance
    size = distance * 0.0028 * rng.lognormal(0, 0.3, n)
    bright = 1.5 * rng.random(n) ** 4 + 0.25
    return _rows(pos, size, bright, rng.uniform(-1, 1, n))


SHAPES = (galaxy, shell, ring, nebula)
POINTS = (2600, 1800, 1600, 1800)
STARS = (400, 60.0)  # how many, how far from the centre (world units)


def hsl(h: float, s: float, light: float) -> tuple[float, float, float]:
    return colorsys.hls_to_rgb(h % 1.0, min(max(light, 0.0), 1.0), min(max(s, 0.0), 1.0))


def palette(hue: float) -> bytes:
    """A cloud's colours at tint -1, 0 and 1, for the points to blend between: the same for a
    whole cloud, so worked out once per draw rather than once per point."""
    s, light = CLOUD_HSL
    rows = (hsl(hue - HUE_SPREAD, s, light), hsl(hue, s, light), hsl(hue + HUE_SPREAD, s + HOT[0], light + HOT[1]))
    return np.array(rows, dtype="f4").tobytes()


def rotation(axis, angle: float) -> np.ndarray:
    """3x3 rotation by `angle` radians about a unit `axis` (Rodrigues)."""
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.identity(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


class PointCloudScene(Scene):
    name = "point_cloud"
    description = "four rotating clouds of glowing points (galaxy, shell, ring, nebula) in exponential fog"
    params = (
        Param("cloud1_hue", "hue of the spiral galaxy (upper left)"),
        Param("cloud2_hue", "hue of the spiral-wound shell (upper right)"),
        Param("cloud3_hue", "hue of the tumbling braided ring (lower right)"),
        Param("cloud4_hue", "hue of the clumpy nebula (lower left)"),
        Param("cloud1_speed", "spin of the galaxy: 0.5 still, below and above turn opposite ways"),
        Param("cloud2_speed", "spin of the shell: 0.5 still, below and above turn opposite ways"),
        Param("cloud3_speed", "spin of the ring: 0.5 still, below and above turn opposite ways"),
        Param("cloud4_speed", "spin of the nebula: 0.5 still, below and above turn opposite ways"),
        Param("fog_density", "fog thickness, from a clear starry night to fog that hides the far clouds"),
        Param("fog_hue", "hue of the fog (dark, greyish)"),
    )
    # fog density changes the whole frame; the hues colour large areas; spin shows least
    importance = ("fog_density", "cloud1_hue", "cloud3_hue", "cloud4_hue", "cloud2_hue",
                  "cloud1_speed", "cloud3_speed", "cloud4_speed", "cloud2_speed", "fog_hue")
    rest = 0.5  # the clouds stand still, in a light fog
    # a hit swells every cloud, lights its points up and sheds a glow around it into the sky
    uses_pulse = True

    def setup(self, ctx, size, seed):
        self.ctx = ctx
        w, h = size
        rng = np.random.default_rng(seed)
        data = [shape(rng, n) for shape, n in zip(SHAPES, POINTS)]
        distances = [np.linalg.norm(d[:, :3], axis=1) for d in data]
        # the radius that holds all but the outermost strays: how far a cloud's glow reaches
        self.radii = [float(np.percentile(r, 99.5)) for r in distances]
        self._frame(w, h)
        self._layout(rng, [float(np.percentile(r, FILL)) for r in distances])

        self.sky = self.program(ctx, shader_source("point_cloud_sky.vert"), shader_source("point_cloud_sky.frag"),
                                names=("point_cloud_sky.vert", "point_cloud_sky.frag"))
        self.points = self.program(ctx, shader_source("point_cloud.vert"), shader_source("point_cloud.frag"),
                                   names=("point_cloud.vert", "point_cloud.frag"))
        self.uniforms = [Uniforms(p, size) for p in (self.sky, self.points)]
        self.sky["u_tan"].value = self.tan
        self.sky["u_cloud_sl"].value = CLOUD_HSL
        self.sky["u_fog_sl"].value = FOG_HSL
        self.points["u_focal"].value = (1 / self.tan[0], 1 / self.tan[1])
        self.points["u_px_per_unit"].value = min(w, h) / 2 / math.tan(FOV / 2)
        self.points["u_min_size"].value = MIN_SPRITE
        self.points["u_fog_start"].value = self.fog_start
        for p in (self.sky, self.points):
            p["u_density_range"].value = FOG_DENSITY

        data.append(stars(rng, *STARS))
        self.ranges = np.cumsum([0] + [len(d) for d in data])
        vbo = ctx.buffer(np.concatenate(data).tobytes())
        self.points_vao = ctx.vertex_array(
            self.points, [(vbo, "3f 1f 1f 1f", "in_pos", "in_size", "in_bright", "in_tint")])
        self.sky_vao = self.screen_grid(ctx, self.sky, *SKY_GRID)
        self.u_model_view = self.points["u_model_view"]
        self.u_palette = self.points["u_palette"]
        self.star_palette = np.array([hsl(*c) for c in STAR_PALETTE], dtype="f4").tobytes()
        self.u_halos = self.sky["u_halos"]

    def _frame(self, w: int, h: int) -> None:
        """Field of view fixed across the narrower side; each cloud's share of the frame."""
        aspect = w / h
        t = math.tan(FOV / 2)
        self.tan = (t * max(aspect, 1.0), t / min(aspect, 1.0))
        zigzag = ZIGZAG * min((max(aspect, 1 / aspect) - 1.0) / (OBLONG - 1.0), 1.0)
        if aspect >= 1.0:
            self.places = np.array([(x - math.copysign(zigzag, y), y, z) for x, y, z in LAYOUT])
        else:
            self.places = np.array([(x, y - math.copysign(zigzag, x), z) for x, y, z in LAYOUT])

    def _fit(self, fill_radii: list[float]) -> float:
        """The camera's distance from the centre at which each cloud, seen from straight ahead,
        spans its place on screen out to the frame's edge."""
        d = 0.0
        for (x, y, z), r in zip(self.places, fill_radii):
            for share, tan in ((x, self.tan[0]), (y, self.tan[1])):
                d = max(d, z + r / (tan * (1.0 - abs(share))))
        return d

    def _layout(self, rng, fill_radii: list[float]) -> None:
        """Camera distance, cloud centres, spin axes and tilts, start angles."""
        self.distance = self._fit(fill_radii)
        self.fog_start = self.distance - FOG_START
        x, y, z = self.places.T
        depth = self.distance - z
        self.centres = np.stack([x * depth * self.tan[0], y * depth * self.tan[1], z], axis=1)
        # spin axes: mostly up, leaning towards the camera so discs and rings show their faces
        leans = ((0.25, 1.0, 0.9), (-0.4, 1.0, 0.3), (0.3, 1.0, 0.2), (0.5, 1.0, -0.3))
        self.axes = [unit(np.array(v) + rng.normal(0, 0.08, 3)) for v in leans]
        self.tilts = [rotation(unit(np.cross((0, 1, 0), a)), math.acos(a[1])) for a in self.axes]
        self.angles = rng.uniform(0, 2 * math.pi, N_CLOUDS)
        self.sway_phase = rng.uniform(0, 2 * math.pi, 2)

    def _camera(self, t: float):
        # a slow drift gives the scene depth even when every cloud stands still
        az = 0.10 * math.sin(2 * math.pi * t / 41.0 + self.sway_phase[0])
        el = 0.10 + 0.05 * math.sin(2 * math.pi * t / 57.0 + self.sway_phase[1])
        eye = self.distance * np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])
        return look_at(eye, (0.0, 0.0, 0.0))

    def _spin(self, dt: float, values) -> None:
        for i in range(N_CLOUDS):
            speed = SPEED * (2.0 * min(max(float(values[4 + i]), 0.0), 1.0) - 1.0)
            self.angles[i] = (self.angles[i] + 2 * math.pi * speed * dt) % (2 * math.pi)

    def _models(self, view: np.ndarray, swell: float) -> list[np.ndarray]:
        models = []
        for i in range(N_CLOUDS):
            m = np.identity(4)
            m[:3, :3] = self.tilts[i] @ rotation((0.0, 1.0, 0.0), self.angles[i]) * swell
            m[:3, 3] = self.centres[i]
            models.append(view @ m)
        return models + [view]  # the stars do not turn

    def _halos(self, view: np.ndarray) -> bytes:
        """Per cloud, for the sky: its centre on screen (NDC), radius there (NDC of the narrower
        side) and depth past the fog's start."""
        rows = []
        for c, r in zip(self.centres, self.radii):
            p = view @ np.append(c, 1.0)
            depth = -p[2]
            scale = 1.0 / (min(self.tan) * depth)
            rows.append((p[0] / (self.tan[0] * depth), p[1] / (self.tan[1] * depth), r * scale,
                         depth - self.fog_start))
        return np.array(rows, dtype="f4").tobytes()

    def draw(self, t, dt, values):
        import moderngl

        self._spin(dt, values)
        view = self._camera(t)
        for u in self.uniforms:
            u.write(t, dt, values, self.pulse)

        ctx = self.ctx
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE | moderngl.BLEND)
        palettes = [palette(float(v)) for v in values[:N_CLOUDS]]
        models = self._models(view, 1.0 + SWELL * self.pulse.level)
        if self.background:
            self.u_halos.write(self._halos(view))
            self.sky_vao.render()
            ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_COLOR
            palettes.append(self.star_palette)
        else:
            # The points are light, not cover: their alpha stays the clear's 0, and the
            # straight-alpha pass makes their brightness their coverage. Alpha blended as
            # coverage would turn a dim, fogged point into a dark stain over other footage.
            ctx.clear(0.0, 0.0, 0.0, 0.0)
            ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_COLOR, moderngl.ZERO, moderngl.ONE
            models.pop()  # the stars are sky
        ctx.enable(moderngl.BLEND | moderngl.PROGRAM_POINT_SIZE)
        for i, (mv, colours) in enumerate(zip(models, palettes)):
            self.u_model_view.write(gl_bytes(mv))
            self.u_palette.write(colours)
            first, last = int(self.ranges[i]), int(self.ranges[i + 1])
            self.points_vao.render(moderngl.POINTS, vertices=last - first, first=first)
        ctx.disable(moderngl.PROGRAM_POINT_SIZE)
