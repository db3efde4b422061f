"""Crystals: sixty hexagonal crystals in six radiating clusters, coloured by their facets'
normals, turning slowly inside a hued sky.

Each cluster grows from a root a little way out from the centre, on the six directions of an
octahedron, and each crystal is a hexagonal prism with a pyramid at both ends, the inner one a
long taper to the root: a spray of double-terminated crystals. The meshes are built once in
numpy with every crystal's own length, width, lean and twist, so the shaders only scale a
group about its root, rotate the set (Euler angles integrated from the three speeds, in
three.js's XYZ order) and project it.

A facet's colour is its normal in view space, like three.js's MeshNormalMaterial, softened
towards a pale grey and lit by a key light, a specular flash and a rim of the sky's colour. It
is constant over a facet (the view direction is taken at the crystal's centre), which makes
the anti-aliasing exact and cheap without MSAA:
- inner edges: each facet knows its signed distance to its own edges and the colour of the
  facet beyond each one, and blends towards it over the pixel that straddles the edge (plus a
  hairline of light, as on cut glass);
- silhouettes: a second pass draws every mesh edge as a thin screen-space quad, collapsed
  unless exactly one of its two facets faces the eye; the quad lies outside the outline and
  fades with its pixel distance, blended over whatever is behind. It writes no depth, so the
  fringes need no sorting.
Where two crystals cross there is no edge to anti-alias, so the layout keeps neighbours from
crossing (see RINGS) and the roots, where any crossing would be, are shaded dark.

The sky is a gradient evaluated on a coarse screen grid plus a few hundred soft star sprites;
nothing in it is computed per pixel beyond interpolation. Without a background (an alpha
channel) neither is drawn: the crystals are the subject, over a transparent clear.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .base import Param, Scene, Uniforms, shader_source
from .camera import gl_bytes, look_at, perspective

N_GROUPS = 6
PER_GROUP = 10               # one crystal on the group's axis, then rings of 3 and 6 around it
SPEED = (0.004, 0.09)        # revolutions per second about each axis, at parameter 0 and 1
SIZE = (0.5, 1.0)            # a group's scale at size 0 and 1
# The picture is framed so that the set, its groups at middle size, fits the frame in this
# share of the ways it can turn (it seldom spans its bounding sphere): it fills the frame's
# narrower side, and larger groups, or any on a hit, reach past its edges.
FRAMED_SIZE = 0.5
FRAMED_SHARE = 75            # percent

# Layout, in set units (the farthest tip lies about 1.5 from the centre)
ROOT_DISTANCE = 0.4          # from the centre to each group's root: a gap keeps the groups apart
GROUP_TILT = 0.10            # radians: at most this far a group's axis leans off the octahedron's
RINGS = np.radians([0.0, 20.0, 37.0])  # lean of the crystals of each ring off the group's axis
JITTER = math.radians(2.0)   # at most this much randomness in each lean
# Neighbours in a group lean 20 degrees apart and their inner tapers are 9.5 degrees wide, so
# they part before their prisms begin: crossings, which nothing anti-aliases, stay rare and
# small, and they fall in the dark near the root.
LENGTH = (0.4, 0.95)         # prism length: the most leaning crystals tend to the shorter end
WIDTH = (0.04, 0.065)        # hexagon's circumradius
TIP_OUT = (1.3, 2.2)         # outer pyramid's height, in widths
TIP_IN = 6.0                 # inner pyramid's height, in widths: a long taper to the root

FOVY = math.radians(32)
N_STARS = 320
SKY_GRID = (24, 14)          # sky grid cells across and up: within 1.5/255 of per-pixel


def _basis(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to `axis` and to each other."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def crystal_mesh(root, axis, width, length, tip_in, tip_out, twist):
    """Vertices (14, 3) and facets (lists of vertex indices, counter-clockwise seen from
    outside) of a hexagonal prism with a pyramid at each end, the inner point at `root`."""
    u, v = _basis(axis)
    ang = twist + np.arange(6) * math.pi / 3
    ring = width * (np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * v)
    bottom = root + axis * tip_in + ring
    top = bottom + axis * length
    apex = root + axis * (tip_in + length + tip_out)
    verts = np.vstack([root, bottom, top, apex])
    faces = []
    for k in range(6):
        k1 = (k + 1) % 6
        faces.append([1 + k, 1 + k1, 7 + k1, 7 + k])
        faces.append([7 + k, 7 + k1, 13])
        faces.append([1 + k1, 1 + k, 0])
    centre = verts.mean(axis=0)
    for i, f in enumerate(faces):
        p = verts[f]
        n = np.cross(p[1] - p[0], p[2] - p[0])
        if n @ (p.mean(axis=0) - centre) < 0:
            faces[i] = f[::-1]
    return verts, faces


def _plane(p: np.ndarray) -> np.ndarray:
    n = np.cross(p[1] - p[0], p[2] - p[0])
    n /= np.linalg.norm(n)
    return np.append(n, n @ p[0])


def _sides(face: list[int]) -> list[tuple[int, int]]:
    return [(face[k], face[(k + 1) % len(face)]) for k in range(len(face))]


def mesh_attributes(verts, faces, group: int):
    """Per-vertex rows for the facet pass and per-edge rows for the silhouette pass."""
    planes = [_plane(verts[f]) for f in faces]
    owner = {}  # edge as (lower, higher vertex index) -> the two facets that meet there
    for fi, f in enumerate(faces):
        for a, b in _sides(f):
            owner.setdefault((min(a, b), max(a, b)), []).append(fi)
    centre = verts.mean(axis=0)
    rows = []
    for fi, f in enumerate(faces):
        p, n = verts[f], planes[fi][:3]
        # signed distance inside each edge, affine over the facet; 1e3: triangles have no 4th
        dist = np.full((len(f), 4), 1e3)
        across = [planes[fi]] * 4
        for k, (a, b) in enumerate(_sides(f)):
            inward = np.cross(n, verts[b] - verts[a])
            dist[:, k] = (p - verts[a]) @ (inward / np.linalg.norm(inward))
            f0, f1 = owner[(min(a, b), max(a, b))]
            across[k] = planes[f1 if f0 == fi else f0]
        for c in (0, 1, 2) if len(f) == 3 else (0, 1, 2, 0, 2, 3):
            rows.append(np.concatenate([p[c], [group], centre, planes[fi], dist[c], *across]))
    edges = []
    for (a, b), (f0, f1) in owner.items():
        inside = [verts[faces[fi]].mean(axis=0) for fi in (f0, f1)]
        edges.append(np.concatenate([verts[a], [group], verts[b], centre, planes[f0], planes[f1],
                                     *inside]))
    return rows, edges


def fan(axis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(PER_GROUP, 3) unit directions around `axis`: one along it, then rings of 3 and 6
    staggered between each other, slightly jittered. Crystals that lean closer would cross."""
    u, v = _basis(axis)
    lean = np.repeat(RINGS, (1, 3, 6)) + rng.uniform(-JITTER, JITTER, PER_GROUP)
    lean[0] = 0.0
    spin = rng.random() * 2 * math.pi
    rings = (np.zeros(1), np.arange(3) * 2 * math.pi / 3, (np.arange(6) + 0.5) * math.pi / 3)
    turn = spin + np.concatenate(rings)
    side = np.cos(turn)[:, None] * u + np.sin(turn)[:, None] * v
    return np.cos(lean)[:, None] * axis + np.sin(lean)[:, None] * side


def build_crystals(rng: np.random.Generator):
    """Group roots (6, 3) and the attribute arrays of the facet and silhouette passes."""
    octahedron = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
    roots, rows, edges = [], [], []
    for g, d in enumerate(octahedron):
        u, v = _basis(d)
        tilt, turn = GROUP_TILT * math.sqrt(rng.random()), rng.random() * 2 * math.pi
        axis = d * math.cos(tilt) + math.sin(tilt) * (math.cos(turn) * u + math.sin(turn) * v)
        roots.append(axis * ROOT_DISTANCE)
        for c_axis in fan(axis, rng):
            # the middle crystals are the longest and stoutest, so a group reads as one spray
            lean = math.acos(min(float(c_axis @ axis), 1.0)) / RINGS[-1]
            length = LENGTH[0] + (LENGTH[1] - LENGTH[0]) * (1.0 - 0.5 * lean) * rng.uniform(0.75, 1.0)
            width = rng.uniform(*WIDTH) * (1.15 - 0.2 * lean)
            root = c_axis * rng.uniform(0.0, 0.05)  # so the inner points do not all meet in one
            verts, faces = crystal_mesh(root, c_axis, width, length, TIP_IN * width,
                                        rng.uniform(*TIP_OUT) * width, rng.random() * math.pi)
            r, e = mesh_attributes(verts, faces, g)
            rows += r
            edges += e
    return np.array(roots), np.array(rows, dtype="f4"), np.array(edges, dtype="f4")


@functools.lru_cache(maxsize=4)
def grown(seed: int):
    """The crystals a seed grows (build_crystals), their starting angles (read-only arrays)
    and the generator's state after them: made once a seed, as they take 0.2 s of numpy and a
    batch sets the scene up for every track."""
    rng = np.random.default_rng(seed)
    arrays = (*build_crystals(rng), rng.random(3) * 2 * math.pi)
    for a in arrays:
        a.setflags(write=False)
    return (*arrays, rng.bit_generator.state)


def random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3, 3) rotations, uniform over all orientations (from unit quaternions)."""
    q = rng.normal(size=(4, n))
    w, x, y, z = q / np.linalg.norm(q, axis=0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=1)


def framing_distance(roots: np.ndarray, rows: np.ndarray, tan_x: float, tan_y: float) -> float:
    """How far back the eye must stand, on +z looking at the centre, for the set at
    FRAMED_SIZE to fit the frame in FRAMED_SHARE percent of its orientations."""
    scale = SIZE[0] + (SIZE[1] - SIZE[0]) * FRAMED_SIZE
    corners = np.unique(rows[:, :4], axis=0)  # each facet repeats the corners it shares
    points = scale * corners[:, :3] + roots[corners[:, 3].astype(int)]
    turns = random_rotations(np.random.default_rng(0), 256)
    turned = points @ turns.transpose(0, 2, 1)  # (256, n, 3): the set in each orientation
    # a point at depth d - z is in the frame while |x| / (d - z) <= tan_x and the same for y
    x, y, z = turned[..., 0], turned[..., 1], turned[..., 2]
    needed = (z + np.maximum(np.abs(x) / tan_x, np.abs(y) / tan_y)).max(axis=1)
    return float(np.percentile(needed, FRAMED_SHARE))


def rotation(ax: float, ay: float, az: float) -> np.ndarray:
    """Euler angles in three.js's default XYZ order: Rx @ Ry @ Rz."""
    cx, sx, cy, sy = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay)
    cz, sz = math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rx @ ry @ rz


class CrystalsScene(Scene):
    name = "crystals"
    description = ("sixty hexagonal crystals in six clusters around a centre, coloured by their facets' "
                   "normals, turning in a hued sky")
    params = (
        # Euler angles in three.js's XYZ order: X is the screen's horizontal, Y and Z turn with it
        Param("rotation_x", "how fast the crystals turn about the horizontal axis"),
        Param("rotation_y", "how fast the crystals turn about their vertical axis"),
        Param("rotation_z", "how fast the crystals turn about their front-to-back axis"),
        Param("sky_hue", "hue of the sky, around the colour wheel"),
        *(Param(f"group{g}_size", f"size of crystal cluster {g}") for g in range(1, N_GROUPS + 1)),
    )
    # sizes answer at once and each moves a large shape; speeds show only as they add up over
    # time; the sky's hue changes the whole frame, so it gets the calmest component
    importance = ("group1_size", "group2_size", "group3_size", "group4_size", "group5_size",
                  "group6_size", "rotation_y", "rotation_x", "rotation_z", "sky_hue")
    rest = 0.3  # slow turns, smallish clusters
    # a hit shoots the clusters out from the centre, flashes their facets and the glow behind them
    uses_pulse = True

    def _program(self, ctx, stem: str, common: str | None = None):
        names = (f"{stem}.vert", f"{stem}.frag")
        prefix = shader_source(common) + "\n#line 1\n" if common else ""
        vert, frag = (prefix + shader_source(n) for n in names)
        return self.program(ctx, vert, frag, names=names)

    def setup(self, ctx, size, seed):
        self.ctx = ctx
        w, h = size
        roots, rows, edges, angles, after = grown(seed)
        self.angles = angles.copy()
        rng = np.random.default_rng()
        rng.bit_generator.state = after  # the star field draws on from where the crystals stopped

        tan_y = math.tan(FOVY / 2)
        tan_x = tan_y * w / h
        distance = framing_distance(roots, rows, tan_x, tan_y)
        eye = np.array([0.0, 0.0, distance])
        proj = perspective(FOVY, w / h, distance - 2.5, distance + 2.5)
        view_proj = gl_bytes(proj @ look_at(eye, (0.0, 0.0, 0.0)))

        self.sky = self._program(ctx, "crystals_sky")
        self.stars = self._program(ctx, "crystals_stars")
        self.facets = self._program(ctx, "crystals", "crystals_common.glsl")
        self.fringe = self._program(ctx, "crystals_edge", "crystals_common.glsl")
        self.uniforms = [Uniforms(p, size) for p in (self.sky, self.stars, self.facets, self.fringe)]
        for p in (self.facets, self.fringe):
            p["u_eye"].value = tuple(eye)
            p["u_roots"].write(roots.astype("f4").tobytes())
            p["u_size"].value = SIZE
            p["u_view_proj"].write(view_proj)
        self.stars["u_focal"].value = (1 / tan_x, 1 / tan_y)

        self.sky_vao = self.screen_grid(ctx, self.sky, *SKY_GRID)
        stars = ctx.buffer(self._star_field(rng, tan_x, tan_y).tobytes())
        self.star_vao = ctx.vertex_array(self.stars, [(stars, "3f 1f/i", "in_dir", "in_light")])
        self.facet_vao = ctx.vertex_array(self.facets, [(
            ctx.buffer(rows.tobytes()), "4f 3f 4f 4f 4f 4f 4f 4f",
            "in_pos", "in_centre", "in_plane", "in_edge", *(f"in_across{i}" for i in range(4)))])
        self.n_vertices = len(rows)
        self.fringe_vao = ctx.vertex_array(self.fringe, [(
            ctx.buffer(edges.tobytes()), "4f 3f 3f 4f 4f 3f 3f/i",
            "in_a", "in_b", "in_centre", "in_plane0", "in_plane1", "in_inside0", "in_inside1")])
        self.n_edges = len(edges)

    @staticmethod
    def _star_field(rng, tan_x: float, tan_y: float) -> np.ndarray:
        """Directions in a cone just wider than the view's diagonal (the field turns about the
        view axis, so it must cover every rotation of the frame), and a brightness each."""
        cone = math.atan(math.hypot(tan_x, tan_y)) * 1.05
        z = rng.uniform(math.cos(cone), 1.0, N_STARS)  # uniform over the cap's area
        phi = rng.uniform(0, 2 * math.pi, N_STARS)
        r = np.sqrt(1 - z * z)
        light = rng.random(N_STARS) ** 3  # mostly faint, a few bright
        return np.stack([r * np.cos(phi), r * np.sin(phi), -z, light], axis=1).astype("f4")

    def draw(self, t, dt, values):
        import moderngl

        speeds = SPEED[0] + (SPEED[1] - SPEED[0]) * np.clip(values[:3].astype(np.float64), 0.0, 1.0)
        # not wrapped: the stars follow a fifth of the Z angle, which must not jump at 2 pi
        self.angles = self.angles + 2 * math.pi * speeds * dt
        rot = gl_bytes(rotation(*self.angles))
        for u in self.uniforms:
            u.write(t, dt, values, self.pulse)
        self.facets["u_rot"].write(rot)
        self.fringe["u_rot"].write(rot)
        # the stars turn about the view axis with the crystals' Z angle, slower: far, but in step
        self.stars["u_turn"].value = float(0.2 * self.angles[2] % (2 * math.pi))

        ctx = self.ctx
        ctx.clear(depth=1.0)  # and the colour to (0, 0, 0, 0), where no sky covers it
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE | moderngl.BLEND)
        if self.background:
            self.sky_vao.render()
            ctx.enable(moderngl.BLEND)
            ctx.blend_func = moderngl.ONE, moderngl.ONE
            self.star_vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=N_STARS)

        # opaque: the facets write alpha 1
        ctx.disable(moderngl.BLEND)
        ctx.enable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self.facet_vao.render(vertices=self.n_vertices)

        # silhouette fringes: blended over whatever is behind, leaving the depth buffer alone;
        # premultiplied, so over nothing their alpha is their coverage
        ctx.disable(moderngl.CULL_FACE)
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        fbo = ctx.fbo
        fbo.depth_mask = False
        self.fringe_vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=self.n_edges)
        fbo.depth_mask = True
