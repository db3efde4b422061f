"""The Scene contract, and the helpers every built-in scene uses.

A scene sees only time, ten numbers in [0, 1] and a pulse: never audio, models or files. It
declares its ten parameters in the order its shader indexes them (`u_params[i]`) and,
separately, in order of importance: which parameter shows the most dynamic component best.
Its time runs with the music's energy (audioviz/motion.py): it stops in silence.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import ClassVar

import numpy as np

from ..config import N_PARAMS
from ..errors import SceneError

# Every program gets this contract; a scene's own GLSL begins at its line 1 (see #line).
HEADER = """#version 330 core
uniform float u_time;        // scene time in seconds: runs with the music's energy, stops in silence
uniform float u_dt;          // scene seconds this frame (0 in silence)
uniform vec2 u_resolution;   // framebuffer size in pixels
uniform float u_params[{n}];  // the scene's parameters, each in [0, 1]
uniform float u_pulse;       // onsets and beats: the hit's strength on its frame, decaying over ~0.2 s
uniform float u_beat;        // phase of the beat: 0 on a beat, rising to 1 at the next
""".format(n=N_PARAMS)


@dataclass(frozen=True)
class Pulse:
    """The music's short time scale at one frame (audioviz/motion.py makes it)."""

    level: float = 0.0  # in [0, 1]: an onset's strength on its own frame, decaying after it
    beat: float = 0.0  # in [0, 1): how far from the last beat to the next
    count: int = 0  # onsets so far: a number to seed what each hit looks like


NO_PULSE = Pulse()


@dataclass(frozen=True)
class Param:
    name: str
    description: str


@functools.cache
def shader_source(name: str) -> str:
    """Text of a built-in shader file under audioviz/scenes/shaders/ (read once per process)."""
    return resources.files("audioviz.scenes").joinpath("shaders", name).read_text()


_MESA = re.compile(r"^\s*\d+:(\d+)\(\d+\):\s*(?:error|warning):\s*(.*)$")
_NVIDIA = re.compile(r"^\s*\d+\((\d+)\)\s*:\s*(?:error|warning)\s*\w*:\s*(.*)$")


def _compile_error(err: Exception, sources: dict[str, str]) -> SceneError:
    """moderngl's multi-line compiler log -> 'file.glsl:LINE: message'."""
    text = str(err)
    stage = next((s for s in sources if s in text), None)
    for line in text.splitlines():
        m = _MESA.match(line) or _NVIDIA.match(line)
        if m:
            where = sources.get(stage, stage or "shader")
            return SceneError(f"{where}:{m.group(1)}: {m.group(2).strip()}")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(err).__name__)
    return SceneError(f"{sources.get(stage, 'shader')}: {first}")


class Recording:
    """A GL context as a scene sees it: everything it makes through it (programs, buffers,
    vertex arrays, textures, ...) is recorded, so that `Scene.release` frees all of it; every
    other attribute is the context's own."""

    MAKERS = frozenset({
        "program", "buffer", "vertex_array", "simple_vertex_array", "texture", "texture_array", "texture3d",
        "texture_cube", "depth_texture", "renderbuffer", "depth_renderbuffer", "framebuffer",
        "simple_framebuffer", "sampler", "query", "compute_shader",
    })

    def __init__(self, ctx):
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "made", [])

    def __getattr__(self, name: str):
        attr = getattr(self._ctx, name)
        if name not in self.MAKERS:
            return attr

        def make(*args, **kwargs):
            obj = attr(*args, **kwargs)
            self.made.append(obj)
            return obj

        return make

    def __setattr__(self, name: str, value) -> None:  # ctx.blend_func = ..., ctx.scissor = ...
        setattr(self._ctx, name, value)

    def release(self) -> None:
        """Free what was made, newest first (a vertex array before its program and buffers)."""
        while self.made:
            self.made.pop().release()


class Scene:
    """Subclass, name it, declare exactly ten params, build in `setup`, draw in `draw`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    importance: ClassVar[tuple[str, ...]] = ()  # parameter names, most important first
    # where the parameters settle as the music falls silent: a calm picture, no extreme
    rest: ClassVar[float] = 0.5
    # whether the scene shows `pulse`; a user's scene says so (a shader by reading u_pulse or u_beat)
    uses_pulse: ClassVar[bool] = False

    _gl: Recording | None = None
    # set before each draw by the frame source
    pulse: Pulse = NO_PULSE
    # set before setup: False when the video has an alpha channel (--alpha), and the scene draws
    # its subject alone over a transparent (0, 0, 0, 0) clear, leaving out its sky, floor and stars
    background: bool = True

    # -- the contract ---------------------------------------------------------------------
    def setup(self, ctx, size: tuple[int, int], seed: int) -> None:
        """Build programs, buffers and random layout once; nothing is allocated in draw()."""
        raise NotImplementedError

    def draw(self, t: float, dt: float, values: np.ndarray) -> None:
        """Render one frame into the bound framebuffer. `values`: float32 (10,) in [0, 1];
        `self.pulse` holds this frame's pulse."""
        raise NotImplementedError

    def release(self) -> None:
        """Free the GL objects the scene made. By default every object made through the context
        `setup` was given (see `attach`); a scene that holds GL objects made some other way
        frees those too, then calls this."""
        if self._gl is not None:
            self._gl.release()
            self._gl = None

    # -- its life on a context ---------------------------------------------------------------
    def attach(self, ctx, size: tuple[int, int], seed: int, background: bool = True) -> None:
        """Set the scene up on `ctx`, recording what it makes there for `release`: how frame
        sources start a scene (render/frames.py); without `background`, for a transparent one."""
        self.release()
        self.background = background
        self._gl = Recording(ctx)
        self.setup(self._gl, size, seed)

    # -- declared metadata ------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return tuple(p.name for p in cls.params)

    @classmethod
    def importance_order(cls) -> tuple[str, ...]:
        return cls.importance or cls.param_names()

    @classmethod
    def validate(cls) -> None:
        names = cls.param_names()
        if not cls.name:
            raise SceneError(f"scene class {cls.__name__} has no name")
        if len(names) != N_PARAMS or len(set(names)) != N_PARAMS:
            raise SceneError(f"scene {cls.name!r} must declare exactly {N_PARAMS} distinct params, has {len(set(names))}")
        if sorted(cls.importance_order()) != sorted(names):
            raise SceneError(f"scene {cls.name!r}: importance must list each of its params once")

    # -- helpers for GL scenes --------------------------------------------------------------
    def program(self, ctx, vertex: str, fragment: str, *, names: tuple[str, str] = ("vertex", "fragment")):
        """Compile with the shared header and common.glsl; errors name the file and line."""
        common = shader_source("common.glsl")

        def full(src: str) -> str:
            return HEADER + common + "\n#line 1\n" + src

        try:
            return ctx.program(vertex_shader=full(vertex), fragment_shader=full(fragment))
        except Exception as e:  # moderngl.Error carries the compiler log
            raise _compile_error(e, {"vertex_shader": names[0], "fragment_shader": names[1]}) from None

    @staticmethod
    def fullscreen(ctx, program):
        """A vertex array that covers the screen with one triangle (no vertex buffer)."""
        return ctx.vertex_array(program, [])

    @staticmethod
    def screen_grid(ctx, program, columns: int = 16, rows: int = 9, attribute: str = "in_ndc"):
        """A vertex array of columns x rows quads covering the screen in NDC.

        For smooth backgrounds: computing the colour per vertex and letting the rasteriser
        interpolate it costs a third of doing the same maths per pixel on a software renderer.
        """
        xs, ys = np.meshgrid(np.linspace(-1, 1, columns + 1), np.linspace(-1, 1, rows + 1))
        verts = np.stack([xs.ravel(), ys.ravel()], axis=1).astype("f4")
        a = (np.arange(rows)[:, None] * (columns + 1) + np.arange(columns)[None, :]).ravel()
        quads = np.stack([a, a + 1, a + columns + 2, a, a + columns + 2, a + columns + 1], axis=1)
        return ctx.vertex_array(
            program, [(ctx.buffer(verts.tobytes()), "2f", attribute)],
            index_buffer=ctx.buffer(quads.astype("i4").tobytes()),
        )


class Uniforms:
    """The standard uniforms of one program, written without reading them back each frame."""

    def __init__(self, program, size: tuple[int, int]):
        self._time = program.get("u_time", None)
        self._dt = program.get("u_dt", None)
        res = program.get("u_resolution", None)
        if res is not None:
            res.value = tuple(float(v) for v in size)
        self._params = program.get("u_params", None)
        # a driver drops array elements a shader never reads; write only what it kept
        self._n = self._params.array_length if self._params is not None else 0
        self._pulse = program.get("u_pulse", None)
        self._beat = program.get("u_beat", None)

    def write(self, t: float, dt: float, values: np.ndarray, pulse: Pulse = NO_PULSE) -> None:
        if self._time is not None:
            self._time.value = t
        if self._dt is not None:
            self._dt.value = dt
        if self._params is not None:
            self._params.write(values[: self._n].astype("f4", copy=False).tobytes())
        if self._pulse is not None:
            self._pulse.value = pulse.level
        if self._beat is not None:
            self._beat.value = pulse.beat
