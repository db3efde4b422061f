"""VIZ-STORM: a thunderstorm over open country. A flat cloud deck and lumpy metaball clouds
hang across the top, a tornado (a lathe whose radius narrows towards the ground) twists below
them, rain falls, lightning strikes, and the picture is tinted from night to day.

Design choices, all for a software rasteriser (llvmpipe, where every full-screen pass, every
texture fetch per pixel and every interpolated varying costs milliseconds) at 60 fps in 720p:

- Clouds are 2D metaballs, splatted rather than summed per pixel: every blob, and every lump on
  its rim (the detail parameter sets how many and how small), is a small quad that adds its
  compact kernel, the kernel's analytic gradient and the kernel a little way towards the light
  into a float texture at a quarter of the screen's resolution. A second low-resolution pass
  adds fractal noise and shades the clouds (the gradient as a fake normal, the offset kernel
  as self-shadowing, flash light from below): light varies slowly, so only the edge needs the
  full resolution, where one fetch per pixel thresholds the field with fwidth() for an
  anti-aliased contour. Blobs never pop: the blob count fades the last blob's weight.
- The sky, the deck and the ground are coloured per vertex of a coarse grid; the deck's edge
  and the hills' crest are interpolated heights, resolved per pixel. They, and the veil of rain
  mixed into them, are the backdrop: without a background (an alpha channel) the storm is its
  clouds, tornado, debris, rain and lightning alone.
- Rain is one instanced quad per drop (about 1000 at full rain): a fraction of the cost of
  procedural rain over the whole screen. The amount draws a prefix of a shuffled list, the
  last drop fading in.
- Lightning runs on dt alone, not the speed-scaled clock, because its parameters are durations.
  A phase integrated with dt triggers strikes at seeded intervals; each strike's position,
  flicker and bolt shape come from (seed, strike number), so frames are reproducible. A flash
  rises within a frame or two, flickers for a few frames like a return stroke, and decays over
  the duration; bolts live in a ring of slots whose glow has died long before one is reused.
- Every other motion (cloud drift, tornado spin and wander, rain fall) integrates the speed
  parameter with dt into a scene clock, so a change of speed never makes anything jump.
- The music's hits strike too: the pulse adds a flash of its own, and a strong one a bolt in a
  slot of its own, both following the pulse frame by frame (it peaks on the onset's frame and
  decays within 0.2 s). Each hit's bolt comes from (seed, onset number); the seeded strikes go
  on as they would without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .base import Param, Scene, shader_source

# --- parameter ranges ---------------------------------------------------------------------
SPEED = (0.25, 1.6)               # scene clock rate, times real time
CLOUD_DETAIL = (0.0, 1.0)         # from LUMPS_SMOOTH large rim lumps per blob to LUMPS small ones
CLOUD_BLOBS = (3.0, 24.0)         # big blobs, fractional: the last one fades in and out
CLOUD_SIZE = (0.65, 1.35)         # scale of every blob's radius
CLOUD_ISOLATION = (0.16, 0.85)    # metaball threshold: low merges into one mass, high parts puffs
LIGHTNING_DURATION = (0.1, 3.0)   # seconds for a flash to fade to about 5 %
LIGHTNING_INTERVAL = (0.4, 3.0)   # mean seconds between strikes
TORNADO = (0.0, 1.0)              # strength: a funnel cloud at 0, a wide touching-down vortex at 1
RAIN = (0.0, 1.0)                 # share of the drops that fall
NIGHT = (-0.4, 0.1)               # tint: -0.4 is night, 0 a stormy day, 0.1 a brighter day

# --- layout, in world units: the screen's narrower side spans 2 ----------------------------
# Heights are for a frame no taller than wide; a taller frame scales them by its half-height,
# so that it keeps the same proportions of deck, clouds, sky and fields instead of more sky.
GROUND_HEIGHT = 0.36              # horizon above the bottom of the screen
DECK = 0.42                       # base of the storm's flat cloud deck, below the screen's top
CLOUD_BASE = 0.74                 # cloud base below the top of the screen
CLOUD_BAND = CLOUD_BASE + 0.1     # depth of the band the clouds are computed in
CLOUD_TEXEL = 4                   # screen pixels per cloud-field texel
BLOB_RADIUS = (0.17, 0.32)        # before CLOUD_SIZE; blobs are 1.35 times wider than tall
BLOB_REACH = 1.1                  # farthest a blob's lumps (and shadow) reach from its centre
LUMPS = 8                         # rim lumps per blob at the finest detail
LUMPS_SMOOTH = 2.5                # and at the least: larger, so the clouds stay cloud-shaped
NOISE_TEXELS = 128                # the clouds' fractal noise texture, tileable
WIND = 0.045                      # cloud drift, world units per scene second
SKY_GRID = (32, 8)                # columns resolve the hills' silhouette, rows the sky's gradient
LATHE = (12, 24)                  # tornado mesh: segments around the visible half, rings along
TOUCH_DOWN = (0.25, 0.7)          # tornado strengths between which its foot comes down
DUST = 28                         # dust puffs around the tornado's foot
DUST_TOUCH = 0.75                 # storm_dust.vert: no dust until the touch-down is this far
# rain, near and far layer: drops per world unit of the screen's width at full rain; streak
# length and width (world units), brightness; fall speed (world units per scene second).
# Near drops are fewer, longer, wider, brighter and faster across the screen than far ones.
RAIN_LAYERS = ((40, (0.19, 0.0042, 1.0), 2.6),
               (260, (0.08, 0.0022, 0.55), 1.3))
RAIN_SPEEDS = 8                   # drop speeds are 1, 1 + 1/8 .. 2 - 1/8 times the layer's
RAIN_SLANT = (0.12, 0.28)         # x per y of the falling rain, from the seed

# uniforms every program that declares them gets each frame
SHARED_UNIFORMS = ("u_clock", "u_grade", "u_flash", "u_tornado", "u_tornado_y", "u_deck", "u_cloud",
                   "u_drift", "u_rain", "u_rain_fall")

# --- lightning ------------------------------------------------------------------------------
BOLT_SLOTS = 6                    # bolts alive at once; a slot is reused after 6 strikes
BOLT_SEGMENTS = 96                # per bolt: 64 for the main channel, 16 per branch
BOLT_FADE = (0.06, 0.16)          # time constant of a bolt's own glow, seconds
BOLT_VISIBLE = 1e-3               # a bolt dimmer than this is not drawn
ATTACK = 0.022                    # rise time of a flash, seconds
MIN_DECAY = 0.05                  # shortest decay time constant, so a flash spans a few frames
FLICKER = (0.055, 0.09)           # period of the return strokes' flicker, seconds
FLICKER_SPAN = 0.12               # how long the flicker lasts, seconds
HIT_FLASH = 1.0                   # a hit's flash at full pulse, as bright as a strong strike
HIT_BOLT = 0.2                    # a hit's bolt shows while the pulse stays above this


def lerp(r: tuple[float, float], v: float) -> float:
    return r[0] + (r[1] - r[0]) * min(max(float(v), 0.0), 1.0)


def smoothstep(e0: float, e1: float, x: float) -> float:
    t = min(max((x - e0) / (e1 - e0), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def grade(tint: float) -> tuple[float, float, float]:
    """Ambient light multiplier for a tint in NIGHT: below 0 it dims and turns blue (moonlight),
    above 0 it brightens and warms a little. Lightning is added after it, so it stays bright."""
    night = smoothstep(0.0, -NIGHT[0], -tint)
    day = max(tint, 0.0) / max(NIGHT[1], 1e-9)
    dim = (1.0 - 0.8 * night) * (1.0 + 0.25 * day)
    return (dim * (1.0 - 0.45 * night + 0.05 * day), dim * (1.0 - 0.25 * night),
            dim * (1.0 - 0.04 * day))


@dataclass
class Strike:
    age: float          # seconds since it struck
    glow: float         # what is left of its flash, and of its bolt's own glow (decays, 1 to 0)
    bolt: float
    x: float            # world x of the channel's root
    power: float        # peak brightness
    period: float       # flicker period
    phase: float        # flicker phase
    ground: float       # 1 for cloud-to-ground, 0 for a strike that ends in the air
    slot: int


def noise_texture(rng, n: int) -> np.ndarray:
    """(n, n, 3) float32, tileable: fractal noise of unit deviation (a 1/f^2 spectrum shaped
    in Fourier space) and its exact gradient, in units per tile."""
    k = np.fft.fftfreq(n) * n
    kx, ky = np.meshgrid(k, k)
    kk = np.maximum(np.hypot(kx, ky), 1.0)
    spec = np.fft.fft2(rng.normal(size=(n, n))) / kk ** 2.0
    # no tilt across the whole tile, and nothing finer than a few texels (it would alias)
    spec[(kk < 1.5) | (kk > n / 6)] = 0.0
    noise = np.fft.ifft2(spec).real
    gx = np.fft.ifft2(spec * 2j * np.pi * kx).real
    gy = np.fft.ifft2(spec * 2j * np.pi * ky).real
    return (np.stack([noise, gx, gy, np.zeros_like(noise)], axis=-1) / noise.std()).astype("f2")


def bolt_segments(rng, top: tuple[float, float], bottom: tuple[float, float]) -> np.ndarray:
    """(BOLT_SEGMENTS, 6) float32 rows (ax, ay, bx, by, width scale, brightness): a jagged main
    channel by midpoint displacement, and two branches forking off it."""

    def channel(a, b, levels, rough):
        pts = np.array([a, b], dtype=np.float64)
        for level in range(levels):
            d = pts[1:] - pts[:-1]
            length = np.linalg.norm(d, axis=1, keepdims=True)
            normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.maximum(length, 1e-9)
            # the first kinks are gentle, so the channel keeps its course; the fine ones are sharp
            jag = rough * (0.45 if level == 0 else 1.0)
            mid = (pts[1:] + pts[:-1]) / 2 + normal * length * rng.normal(0, jag, (len(d), 1))
            out = np.empty((len(pts) * 2 - 1, 2))
            out[0::2], out[1::2] = pts, mid
            pts = out
        pts[:, 1] = np.maximum(pts[:, 1], min(a[1], b[1]) - 0.02)  # never below its end
        return pts

    rows = np.zeros((BOLT_SEGMENTS, 6), dtype="f4")
    main = channel(top, bottom, 6, 0.3)
    n = len(main) - 1
    rows[:n, :2], rows[:n, 2:4] = main[:-1], main[1:]
    rows[:n, 4] = 1.0
    rows[:n, 5] = 1.0
    at = n
    for _ in range(2):
        i = int(rng.integers(n // 5, n // 2 + 2))
        start = main[i]
        length = np.linalg.norm(np.subtract(bottom, top)) * rng.uniform(0.15, 0.35)
        angle = rng.choice([-1, 1]) * rng.uniform(0.35, 0.9)  # from straight down
        end = start + length * np.array([math.sin(angle), -math.cos(angle)])
        end[1] = max(end[1], bottom[1] + 0.1)  # branches die out before the ground
        branch = channel(start, end, 4, 0.3)
        m = len(branch) - 1
        rows[at:at + m, :2], rows[at:at + m, 2:4] = branch[:-1], branch[1:]
        rows[at:at + m, 4] = 0.55
        rows[at:at + m, 5] = np.linspace(0.75, 0.15, m)  # dimmer towards the tip
        at += m
    return rows


class StormScene(Scene):
    name = "storm"
    description = "metaball clouds, a twisting tornado, rain and lightning, from night to day"
    params = (
        Param("speed", "speed of the whole animation: cloud drift, tornado spin, rain fall"),
        Param("cloud_detail", "how finely lumped the clouds are, from smooth blobs to cauliflower"),
        Param("cloud_blobs", "how many cloud blobs fill the sky"),
        Param("cloud_size", "size of every cloud blob"),
        Param("cloud_isolation", "metaball threshold: one merged mass at 0, separate puffs at 1"),
        Param("lightning_duration", "how long each lightning flash takes to fade, 0.1 to 3 s"),
        Param("lightning_interval", "mean time between lightning strikes, 0.4 to 3 s"),
        Param("tornado", "tornado strength: a thin funnel aloft at 0, a wide vortex down at 1"),
        Param("rain", "amount of rain, from none to a downpour"),
        Param("night", "day/night tint, from night to a brighter day"),
    )
    # the tornado is the largest moving shape; rain and the clouds' threshold change the whole
    # picture at once; the lightning and speed parameters act over seconds, not frames
    importance = ("tornado", "rain", "cloud_isolation", "night", "cloud_size", "lightning_interval",
                  "cloud_blobs", "lightning_duration", "speed", "cloud_detail")
    rest = 0.3  # a slow storm at dusk: a thin funnel aloft, light rain, few cloud blobs
    # the music's hits strike as lightning: a flash with every one, a bolt with the strong ones
    uses_pulse = True

    # -- setup ---------------------------------------------------------------------------
    def _program(self, ctx, stem: str):
        # storm_common.glsl goes before each file; errors inside it name the file it precedes
        common = shader_source("storm_common.glsl") + "\n#line 1\n"
        names = (f"{stem}.vert", f"{stem}.frag")
        return self.program(ctx, *(common + shader_source(n) for n in names), names=names)

    def setup(self, ctx, size, seed):
        self.ctx = ctx
        self.size = size
        w, h = size
        self.scale = min(w, h) / 2  # pixels per world unit
        self.half = (w / min(w, h), h / min(w, h))
        top = self.half[1]
        self.horizon = -top + GROUND_HEIGHT * top
        self.deck = top - DECK * top
        self.cloud_base = top - CLOUD_BASE * top
        self.band = (top - CLOUD_BAND * top, top)
        self.seed = seed
        rng = np.random.default_rng(seed)

        self.clock = 0.0
        self.spin = 0.0
        self.rain_fall = np.zeros(len(RAIN_LAYERS))
        self.tornado_phase = rng.uniform(0, 2 * math.pi)
        self.phase = 0.97  # lightning phase: a clip opens with a strike
        self.strikes: list[Strike] = []
        self.strike_count = 0
        self.spacing = 1.0
        self.hit = -1  # the onset whose bolt is in the hit slot
        self.hit_x = self.hit_ground = 0.0

        names = ("sky", "splat", "shade", "cloud", "tornado", "dust", "bolt", "rain")
        self.progs = {n: self._program(ctx, f"storm_{n}") for n in names}
        # the shaders read mapped values, not u_params: the ranges live here, in Python
        self.shared = {u: [p[u] for p in self.progs.values() if u in p] for u in SHARED_UNIFORMS}
        for p in self.progs.values():
            for name, value in (("u_half", self.half), ("u_px", 1.0 / self.scale),
                                ("u_layout", (self.horizon, self.cloud_base, *self.band))):
                if name in p:
                    p[name].value = value
        self.progs["sky"]["u_hills"].value = tuple(rng.uniform(0, 2 * math.pi, 4))
        self.deck_drift = rng.uniform(0, 10)
        self.slant = float(rng.uniform(*RAIN_SLANT)) * rng.choice([-1, 1])

        self._setup_sky(ctx)
        self._setup_clouds(ctx, rng)
        self._setup_tornado(ctx)
        self._setup_bolts(ctx)
        self._setup_rain(ctx, rng)

    def _setup_sky(self, ctx):
        self.sky_vao = self.screen_grid(ctx, self.progs["sky"], *SKY_GRID)

    def _setup_clouds(self, ctx, rng):
        n = int(CLOUD_BLOBS[1])
        # a tall frame's cloud band is deeper: larger blobs cover as much of it as in a wide one
        grow = math.sqrt(self.half[1])
        # blobs wrap around off screen; low-discrepancy x spreads any leading subset of them
        span = 2 * (self.half[0] + BLOB_REACH * grow)
        x0 = ((np.arange(n) * 0.6180339887 + rng.uniform()) % 1.0 - 0.5) * span
        y0 = self.half[1] * (1.0 - rng.uniform(0.12, CLOUD_BASE - 0.1, n))
        radius = rng.uniform(*BLOB_RADIUS, n) * grow
        drift = rng.uniform(0.6, 1.5, n)
        rows = []
        for i in range(n):
            # lumps sit on the upper rim and the flanks: cumulus tops boil, bases stay flat
            angles = np.sort(rng.uniform(-0.25 * math.pi, 1.25 * math.pi, LUMPS))
            rng.shuffle(angles)  # the order they fade in: spread around the rim
            reach = rng.uniform(0.62, 0.9, LUMPS)
            size = rng.uniform(0.75, 1.25, LUMPS)
            phase = rng.uniform(0, 2 * math.pi, LUMPS + 1)
            rows.append((x0[i], y0[i], radius[i], drift[i], 0.0, 0.0, 1.0, 0.0, phase[0], i))
            for j in range(LUMPS):
                rows.append((x0[i], y0[i], radius[i], drift[i], math.cos(angles[j]) * reach[j],
                             math.sin(angles[j]) * reach[j], size[j], j + 1.0, phase[j + 1], i))
        table = np.array(rows, dtype="f4")
        self.splat_instances = len(table)
        splat = self.progs["splat"]
        splat["u_span"].value = span
        splat["u_lumps"].value = (LUMPS_SMOOTH, float(LUMPS))
        quad = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], dtype="f4")
        self.quad = ctx.buffer(quad.tobytes())
        self.splat_vao = ctx.vertex_array(splat, [
            (self.quad, "2f", "in_corner"),
            (ctx.buffer(table.tobytes()), "4f 4f 2f/i", "in_blob", "in_lump", "in_extra"),
        ])
        w = self.size[0]
        band_px = (self.band[1] - self.band[0]) * self.scale
        tex_size = (max(8, math.ceil(w / CLOUD_TEXEL)), max(4, math.ceil(band_px / CLOUD_TEXEL)))
        self.field = ctx.texture(tex_size, 4, dtype="f2")
        self.field.repeat_x = self.field.repeat_y = False
        self.field_fbo = ctx.framebuffer([self.field])
        self.shade = ctx.texture(tex_size, 4, dtype="f2")
        self.shade.repeat_x = self.shade.repeat_y = False
        self.shade_fbo = ctx.framebuffer([self.shade])
        self.progs["shade"]["u_field"].value = 0
        self.shade_vao = ctx.vertex_array(self.progs["shade"], [(self.quad, "2f", "in_corner")])
        cloud = self.progs["cloud"]
        cloud["u_shade"].value = 3
        self.progs["shade"]["u_noise"].value = 1
        noise = noise_texture(rng, NOISE_TEXELS)
        self.noise = ctx.texture((NOISE_TEXELS, NOISE_TEXELS), 4, noise.tobytes(), dtype="f2")
        self.cloud_vao = ctx.vertex_array(cloud, [(self.quad, "2f", "in_corner")])

    def _setup_tornado(self, ctx):
        around, along = LATHE
        theta = np.linspace(0, math.pi, around + 1)  # the half facing the viewer
        v = np.linspace(0, 1, along + 1) ** 1.4       # denser rings near the narrow foot
        tt, vv = np.meshgrid(theta, v)
        # the lathe's profile: narrow near the ground, flaring into the cloud
        profile = vv ** 2.2
        verts = np.stack([np.cos(tt), np.sin(tt), vv, profile], axis=-1).reshape(-1, 4).astype("f4")
        a = (np.arange(along)[:, None] * (around + 1) + np.arange(around)[None, :]).ravel()
        tris = np.stack([a, a + 1, a + around + 2, a, a + around + 2, a + around + 1], axis=1)
        self.tornado_vao = ctx.vertex_array(
            self.progs["tornado"], [(ctx.buffer(verts.tobytes()), "4f", "in_lathe")],
            index_buffer=ctx.buffer(tris.astype("i4").tobytes()))
        self.dust_vao = ctx.vertex_array(self.progs["dust"], [(self.quad, "2f", "in_corner")])

    def _setup_bolts(self, ctx):
        # one vertex array per slot, over its part of one buffer: only live bolts are drawn; the
        # last slot is the music's hits'
        row = 6 * 4  # bytes per segment
        self.bolt_buffer = ctx.buffer(reserve=(BOLT_SLOTS + 1) * BOLT_SEGMENTS * row)
        self.bolt_vaos = []
        for slot in range(BOLT_SLOTS + 1):
            vao = ctx.vertex_array(self.progs["bolt"], [(self.quad, "2f", "in_corner")])
            base = slot * BOLT_SEGMENTS * row
            for name, fmt, at in (("in_segment", "4f", 0), ("in_style", "2f", 16)):
                location = self.progs["bolt"][name].location
                vao.bind(location, "f", self.bolt_buffer, fmt, offset=base + at, stride=row,
                         divisor=1)
            self.bolt_vaos.append(vao)
        self.bolt_power = np.zeros(BOLT_SLOTS + 1)

    def _setup_rain(self, ctx, rng):
        rain = self.progs["rain"]
        rain["u_rain_near"].value = RAIN_LAYERS[0][1] + (0.0,)
        rain["u_rain_far"].value = RAIN_LAYERS[1][1] + (0.0,)
        # drops wrap from below the screen up into the deck
        self.rain_span = (self.deck + 0.15, -self.half[1] - 0.25)
        reach = self.half[0] + RAIN_SLANT[1] * self.half[1] + 0.02  # any slant stays covered
        drops = []
        for layer, (density, _, _) in enumerate(RAIN_LAYERS):
            n = math.ceil(density * 2 * self.half[0])
            speed = 1.0 + rng.integers(0, RAIN_SPEEDS, n) / RAIN_SPEEDS
            drops.append(np.stack([rng.uniform(-reach, reach, n), rng.uniform(0, 1, n), speed,
                                   np.full(n, layer)], axis=1))
        drops = np.concatenate(drops)
        drops = drops[rng.permutation(len(drops))]  # any prefix mixes both layers evenly
        index = np.arange(len(drops))[:, None]
        self.rain_drops = len(drops)
        self.rain_vao = ctx.vertex_array(rain, [
            (self.quad, "2f", "in_corner"),
            (ctx.buffer(np.hstack([drops, index]).astype("f4").tobytes()), "4f 1f/i",
             "in_drop", "in_index"),
        ])

    # -- lightning -------------------------------------------------------------------------
    def _strike_rng(self, k: int):
        return np.random.default_rng([self.seed & 0xFFFFFFFF, k, 7])

    def _new_strike(self, age: float, glow: float, bolt: float) -> None:
        k = self.strike_count
        self.strike_count += 1
        rng = self._strike_rng(k)
        slot = k % BOLT_SLOTS
        x, ground = self._new_bolt(rng, slot)
        self.strikes.append(Strike(age, glow, bolt, x, rng.uniform(0.7, 1.0), rng.uniform(*FLICKER),
                                   rng.uniform(0, 2 * math.pi), ground, slot))
        # strikes are not regular: the next one comes after 0.55 to 1.45 intervals
        self.spacing = float(self._strike_rng(k + 1).uniform(0.55, 1.45))

    def _new_bolt(self, rng, slot: int) -> tuple[float, float]:
        """A bolt from `rng` into `slot`; returns its x and whether it reaches the ground."""
        x = rng.uniform(-0.75, 0.75) * self.half[0]
        ground = 1.0 if rng.uniform() < 0.75 else 0.0
        root = (x, self.half[1] + 0.05)  # from the deck above the picture
        if ground:
            end_y = self.horizon - rng.uniform(0.01, 0.12)
        else:
            end_y = self.cloud_base - rng.uniform(0.25, 0.6) * (self.cloud_base - self.horizon)
        # the channel wanders sideways as it comes down, but stays on the screen
        lean = float(np.clip(rng.normal(0, 0.35), -0.8, 0.8))
        limit = 0.8 * self.half[0]
        end_x = float(np.clip(x + lean * self.half[0] * 0.5, -limit, limit))
        end = (end_x, end_y)
        rows = bolt_segments(rng, root, end)
        # on a tall, narrow screen the jags could leave it
        rows[:, [0, 2]] = np.clip(rows[:, [0, 2]], -self.half[0], self.half[0])
        self.bolt_buffer.write(rows.tobytes(), offset=slot * BOLT_SEGMENTS * rows.itemsize * 6)
        return x, ground

    def _hit(self) -> float:
        """The music's lightning: a flash as strong as the pulse, now, and while it is strong, a
        bolt of the onset's own. Returns the flash."""
        level, count = self.pulse.level, self.pulse.count
        if level <= 0.0:
            return 0.0
        if count != self.hit:  # a new onset: its bolt, from the seed and its number
            self.hit = count
            rng = np.random.default_rng([self.seed & 0xFFFFFFFF, count, 11])  # not the strikes' stream
            self.hit_x, self.hit_ground = self._new_bolt(rng, BOLT_SLOTS)
        self.bolt_power[BOLT_SLOTS] = max(level - HIT_BOLT, 0.0) / (1.0 - HIT_BOLT)
        return HIT_FLASH * level

    def _lightning(self, dt: float, duration: float, interval: float):
        """Advance the strikes; return (flash brightness, light x, ground share) for this frame.
        Decays are integrated, so a change of duration changes how fast a flash fades, never
        how bright it is."""
        decay = max(duration / 3.0, MIN_DECAY)
        bolt_decay = min(max(decay * 0.5, BOLT_FADE[0]), BOLT_FADE[1])
        for s in self.strikes:
            s.age += dt
            s.glow *= math.exp(-dt / decay)
            s.bolt *= math.exp(-dt / bolt_decay)
        self.phase += dt / (interval * self.spacing)
        while self.phase >= 1.0:
            self.phase -= 1.0
            # how long ago, within this frame, the strike happened
            age = self.phase * interval * self.spacing
            self._new_strike(age, math.exp(-age / decay), math.exp(-age / bolt_decay))
        self.strikes = [s for s in self.strikes if max(s.glow, s.bolt) > 1e-4]
        self.bolt_power[:] = 0.0
        total = xsum = gsum = 0.0
        for s in self.strikes:
            attack = 1.0 - math.exp(-s.age / ATTACK)
            # return strokes: the channel re-brightens a few times within its first frames
            flicker = 1.0 - 0.55 * math.exp(-s.age / FLICKER_SPAN) * (
                0.5 + 0.5 * math.cos(2 * math.pi * s.age / s.period + s.phase))
            env = attack * flicker * s.power
            glow = env * s.glow
            self.bolt_power[s.slot] = max(self.bolt_power[s.slot], env * s.bolt)
            total += glow
            xsum += glow * s.x
            gsum += glow * s.ground
        hit = self._hit()
        total += hit
        xsum += hit * self.hit_x
        gsum += hit * self.hit_ground
        if total < 1e-6:
            return 0.0, self.strikes[-1].x if self.strikes else 0.0, 0.0
        return total, xsum / total, gsum / total

    # -- frame -----------------------------------------------------------------------------
    def _advance(self, dt: float, v: np.ndarray) -> dict:
        """Integrate every clock with dt; return the shared uniforms' values for this frame."""
        speed = lerp(SPEED, v[0])
        strength = lerp(TORNADO, v[7])
        self.clock += dt * speed
        # a stronger tornado spins faster
        self.spin = (self.spin + dt * speed * (0.8 + 2.8 * strength)) % (2 * math.pi)
        # every drop's speed is a multiple of 1/RAIN_SPEEDS, so wrapping here moves none of them
        wrap = RAIN_SPEEDS * (self.rain_span[0] - self.rain_span[1])
        for i, (_, _, fall) in enumerate(RAIN_LAYERS):
            self.rain_fall[i] = (self.rain_fall[i] + dt * speed * fall) % wrap
        flash, light_x, ground = self._lightning(dt, lerp(LIGHTNING_DURATION, v[5]),
                                                 lerp(LIGHTNING_INTERVAL, v[6]))
        # the tornado wanders slowly under the storm
        tx = self.half[0] * (0.42 * math.sin(0.045 * self.clock + self.tornado_phase)
                             + 0.1 * math.sin(0.13 * self.clock + 2 * self.tornado_phase))
        return {
            "u_clock": self.clock,
            "u_grade": grade(lerp(NIGHT, v[9])),
            "u_flash": (flash, light_x, ground, 0.0),
            "u_tornado": (tx, strength, self.spin, smoothstep(*TOUCH_DOWN, strength)),
            # the funnel hangs from just inside the deck, whose lowest swell is 0.1 lower
            "u_tornado_y": (self.deck + 0.08, self.horizon - 0.1),
            "u_deck": (self.deck, self.deck_drift + 0.5 * WIND * self.clock),
            "u_cloud": (lerp(CLOUD_SIZE, v[3]), lerp(CLOUD_BLOBS, v[2]), lerp(CLOUD_DETAIL, v[1]),
                        lerp(CLOUD_ISOLATION, v[4])),
            "u_drift": WIND * self.clock,
            "u_rain": (lerp(RAIN, v[8]), self.slant),
            "u_rain_fall": tuple(self.rain_fall),
        }

    def _shade_clouds(self) -> None:
        """The cloud field, summed, then shaded, at low resolution."""
        import moderngl

        ctx = self.ctx
        self.field_fbo.use()
        self.field_fbo.clear()
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE
        self.splat_vao.render(moderngl.TRIANGLE_STRIP, instances=self.splat_instances)
        ctx.disable(moderngl.BLEND)
        self.shade_fbo.use()
        self.field.use(0)
        self.noise.use(1)
        self.shade_vao.render(moderngl.TRIANGLE_STRIP)

    def _draw_bolts(self) -> None:
        import moderngl

        # the glow must not add up where segments meet: the brightest wins
        self.ctx.blend_equation = moderngl.MAX
        power = self.progs["bolt"]["u_bolt_power"]
        for vao, p in zip(self.bolt_vaos, self.bolt_power):
            if p > BOLT_VISIBLE:
                power.value = float(p)
                vao.render(moderngl.TRIANGLE_STRIP, instances=BOLT_SEGMENTS)
        self.ctx.blend_equation = moderngl.FUNC_ADD

    def draw(self, t, dt, values):
        import moderngl

        v = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
        shared = self._advance(dt, v)
        for name, value in shared.items():
            for u in self.shared[name]:
                u.value = value

        ctx = self.ctx
        target = ctx.fbo
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self._shade_clouds()
        target.use()
        # back to front: sky, tornado, its debris, lightning, rain, clouds
        ctx.disable(moderngl.BLEND)
        if self.background:
            self.sky_vao.render()
        else:
            ctx.clear(0.0, 0.0, 0.0, 0.0)
        # premultiplied alpha: over nothing, each layer's alpha is its coverage; the bolts
        # (MAX blending, alpha 0) leave it alone, and their brightness becomes their coverage
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        self.tornado_vao.render()
        if shared["u_tornado"][3] > DUST_TOUCH:  # debris only rises once the funnel is down
            self.dust_vao.render(moderngl.TRIANGLE_STRIP, instances=DUST)
        self._draw_bolts()
        amount = shared["u_rain"][0]
        if amount > 0.0:
            self.progs["rain"]["u_rain_span"].value = self.rain_span + (amount * self.rain_drops,)
            drops = math.ceil(amount * self.rain_drops)
            self.rain_vao.render(moderngl.TRIANGLE_STRIP, instances=drops)
        self.shade.use(3)
        self.cloud_vao.render(moderngl.TRIANGLE_STRIP)
