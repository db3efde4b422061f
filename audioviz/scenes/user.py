"""Scenes a user brings as a file: a Python module with a Scene subclass, or one GLSL fragment
shader in the style of ShaderToy and similar tools.

A fragment shader declares what it reads, any of:

    uniform float u_time;          // seconds (iTime also works)
    uniform vec2 u_resolution;     // pixels (iResolution, a vec3, also works)
    uniform float p0, p1, ... p9;  // the ten parameters in [0, 1], or:
    uniform float u_params[10];
    uniform float u_pulse;         // onsets and beats: 0 to 1 on a hit's frame, decaying after
    uniform float u_beat;          // the beat's phase: 0 on a beat, rising to 1 at the next

A shader that declares u_pulse or u_beat uses the pulse; u_time is scene time, which runs
with the music's loudness and stops in silence.

and writes its colour either from `void main()` to its own `out vec4`, or from ShaderToy's
`void mainImage(out vec4 fragColor, in vec2 fragCoord)`. Lines such as

    // param p0 hue: colour of the waves

name and describe a parameter; `// importance p3 p0 ...` orders them. Compiler errors name the
shader file and its own line numbers.

A shader's picture is all its own, with no background to leave out: with an alpha channel
(--alpha) what it writes is kept, its alpha the frame's coverage and its colour premultiplied
by it. vec4(colour, 1.0) is an opaque frame; light written with alpha 0 is as covered as it is
bright. A Python scene reads `self.background` instead (scenes/base.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np

from ..errors import SceneError
from ..files import regular_file
from .base import N_PARAMS, Param, Scene, _compile_error

USER_SUFFIXES = (".py", ".frag", ".glsl", ".fs")

_PARAM_DOC = re.compile(r"^\s*//\s*param\s+p(\d)\s+(\w+)\s*(?::\s*(.*))?$", re.MULTILINE)
_IMPORTANCE = re.compile(r"^\s*//\s*importance\s+(.*)$", re.MULTILINE)
_VERSION = re.compile(r"^\s*#version[^\n]*\n", re.MULTILINE)

VERTEX = """#version 330 core
void main() {
    // one triangle that covers the screen
    vec2 p = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
    gl_Position = vec4(p, 0.0, 1.0);
}
"""


def is_user_scene(name: str) -> bool:
    """A --scene value that names a file rather than a built-in scene."""
    return Path(name).suffix.lower() in USER_SUFFIXES or "/" in name or "\\" in name


def load_user_scene_class(path: str) -> type[Scene]:
    p = regular_file(path, "scene file", SceneError)
    if p.suffix.lower() == ".py":
        return _guarded(_python_scene(p), p)
    return _guarded(fragment_scene_class(p.read_text(errors="replace"), p.name), p)


class _SceneExit(BaseException):
    """os._exit called by a user's scene (a BaseException, so that the scene's own
    `except Exception` cannot swallow it)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _trap_exit(code=0):
    raise _SceneExit(code)


def _where(e: BaseException, path: Path) -> str:
    """file.py:LINE of the deepest frame of the user's file in `e`'s traceback."""
    line, tb = None, e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{path.name}:{line}" if line else path.name


@contextlib.contextmanager
def user_code(path: Path, stage: str):
    """Run a user's scene code: what it raises, and any attempt to end the process (sys.exit,
    os._exit), becomes one SceneError naming the file and line, and `stage` ("in draw"; ""
    while the module loads). Ctrl-C still interrupts."""
    real_exit = os._exit
    os._exit = _trap_exit
    try:
        yield
    except SceneError:
        raise
    except SyntaxError as e:  # the compiler's own line and words
        raise SceneError(f"{path.name}:{e.lineno}: {e.msg}") from None
    except (SystemExit, _SceneExit) as e:
        how = "sys.exit" if isinstance(e, SystemExit) else "os._exit"
        raise SceneError(f"{_where(e, path)}: the scene called {how}({e.code!r}) {stage or 'while loading'}; "
                         "a scene cannot end audioviz") from None
    except Exception as e:  # the user's code may raise anything
        raise SceneError(f"{_where(e, path)}: {type(e).__name__}{' ' + stage if stage else ''}: {e}") from None
    finally:
        os._exit = real_exit


def _guarded(cls: type[Scene], path: Path) -> type[Scene]:
    """`cls` with its setup and draw run as user code, and each frame waited for under the
    draw watchdog (render/watchdog.py), so that a runaway loop cannot hang audioviz."""
    from ..render.watchdog import draw_timeout, wait_for_frame

    class Guarded(cls):
        def __init__(self):
            with user_code(path, "in __init__"):
                super().__init__()

        def setup(self, ctx, size, seed):
            self._audioviz_ctx, self._audioviz_timeout = ctx, draw_timeout()
            with user_code(path, "in setup"):
                super().setup(ctx, size, seed)

        def draw(self, t, dt, values):
            with user_code(path, "in draw"):
                super().draw(t, dt, values)
            wait_for_frame(self._audioviz_ctx, path.name, self._audioviz_timeout)

    Guarded.__name__ = Guarded.__qualname__ = cls.__name__
    return Guarded


def _python_scene(path: Path) -> type[Scene]:
    """The one Scene subclass defined in the module at `path`."""
    module_name = "audioviz_user_scene_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
    with user_code(path, ""):
        spec.loader.exec_module(module)
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, Scene) and v is not Scene and v.__module__ == module_name]
    if len(found) != 1:
        what = "no Scene subclass" if not found else f"{len(found)} Scene subclasses ({', '.join(c.__name__ for c in found)})"
        raise SceneError(f"{path.name}: defines {what}; a scene file must define exactly one")
    cls = found[0]
    if not cls.name:
        cls.name = path.stem
    cls.validate()
    return cls


def _declared_params(source: str) -> tuple[tuple[Param, ...], tuple[str, ...]]:
    names = [f"p{i}" for i in range(N_PARAMS)]
    docs = [f"parameter {i} of the shader" for i in range(N_PARAMS)]
    for m in _PARAM_DOC.finditer(source):
        i = int(m.group(1))
        names[i], docs[i] = m.group(2), (m.group(3) or docs[i]).strip()
    params = tuple(Param(n, d) for n, d in zip(names, docs))
    importance: tuple[str, ...] = ()
    m = _IMPORTANCE.search(source)
    if m:
        # the shader's own uniform names (p3) or the names given to them
        alias = {f"p{i}": n for i, n in enumerate(names)}
        importance = tuple(alias.get(w, w) for w in m.group(1).split())
    return params, importance


def _uses_undeclared(source: str, name: str) -> bool:
    used = re.search(rf"\b{name}\b", source)
    return bool(used) and not re.search(rf"uniform\s+\w+\s+[^;]*\b{name}\b", source)


def fragment_source(source: str) -> str:
    """The user's shader made whole: a #version line, iTime/iResolution if used, a main()."""
    version = _VERSION.search(source)
    head, body = "#version 330 core\n", source
    if version:  # it must come first; an empty line keeps its place so line numbers hold
        head, body = version.group(0), source[: version.start()] + "\n" + source[version.end():]
    extra = []
    if _uses_undeclared(source, "iTime"):
        extra.append("uniform float iTime;")
    if _uses_undeclared(source, "iResolution"):
        extra.append("uniform vec3 iResolution;")
    tail = ""
    if re.search(r"\bmainImage\s*\(", source) and not re.search(r"\bvoid\s+main\s*\(", source):
        tail = "\nout vec4 audioviz_frag_color;\nvoid main() { mainImage(audioviz_frag_color, gl_FragCoord.xy); }\n"
    # #line keeps the compiler's line numbers those of the user's file
    return head + "\n".join(extra) + "\n#line 1\n" + body + tail


def fragment_scene_class(source: str, filename: str = "shader.frag") -> type[Scene]:
    params, importance = _declared_params(source)
    stem = Path(filename).stem

    class FragmentScene(Scene):
        name = stem
        description = f"fragment shader {filename}"
        uses_pulse = bool(re.search(r"uniform\s+float\s+[^;]*\bu_(pulse|beat)\b", source))

        def setup(self, ctx, size, seed):
            try:
                self.prog = ctx.program(vertex_shader=VERTEX, fragment_shader=fragment_source(source))
            except Exception as e:  # moderngl.Error carries the compiler log
                raise _compile_error(e, {"fragment_shader": filename, "vertex_shader": filename}) from None
            self.vao = ctx.vertex_array(self.prog, [])
            w, h = size
            self._set(("u_resolution",), (float(w), float(h)))
            self._set(("iResolution",), (float(w), float(h), 1.0))
            self._set(("u_seed",), float(seed % 65536))
            self.singles = [self.prog.get(f"p{i}", None) for i in range(N_PARAMS)]
            self.array = self.prog.get("u_params", None)
            self.times = [u for u in (self.prog.get("u_time", None), self.prog.get("iTime", None)) if u is not None]
            self.dt = self.prog.get("u_dt", None)
            self.pulses = self.prog.get("u_pulse", None), self.prog.get("u_beat", None)
            if self.array is None and not any(self.singles):
                raise SceneError(
                    f"{filename}: reads none of the parameters; declare uniform float p0 ... p9 or u_params[10]"
                )

        def _set(self, names, value):
            for n in names:
                u = self.prog.get(n, None)
                if u is not None:
                    u.value = value

        def draw(self, t, dt, values):
            for u in self.times:
                u.value = t
            if self.dt is not None:
                self.dt.value = dt
            for u, v in zip(self.singles, values):
                if u is not None:
                    u.value = float(v)
            if self.array is not None:
                self.array.write(np.asarray(values[: self.array.array_length], dtype="f4").tobytes())
            for u, v in zip(self.pulses, (self.pulse.level, self.pulse.beat)):
                if u is not None:
                    u.value = v
            self.vao.render(vertices=3)

    FragmentScene.params = params
    FragmentScene.importance = importance
    FragmentScene.__name__ = FragmentScene.__qualname__ = f"FragmentScene_{stem}"
    FragmentScene.validate()
    return FragmentScene
