"""The one place a GL context is made: headless EGL, Mesa's llvmpipe on a machine without a GPU.

`create_context` tries EGL's default device first (on a GPU machine, the GPU). When that fails
(a GPU whose driver has no working EGL, say) it warns once on stderr and renders in software
(Mesa's llvmpipe, EGL's software device) from then on; only when that fails too is it a
GLUnavailableError, one line that names the packages to install.

Two environment variables steer it: AUDIOVIZ_LIBEGL, the libEGL to load (default: the
system's), and AUDIOVIZ_GL_DEVICE, the EGL device to try first (default 0).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from ..errors import ConfigError, GLUnavailableError

# glcontext's EGL backend loads libEGL and libGL (libgl1); Mesa's EGL vendor library (libegl-mesa0,
# which libegl1 pulls in) and its drivers, llvmpipe included (libgl1-mesa-dri), do the work
EGL_PACKAGES = "libegl1 libgl1-mesa-dri libgl1"
INSTALL_HINT = f"install Mesa's EGL and drivers (Debian/Ubuntu: sudo apt install {EGL_PACKAGES})"

ENV_LIBEGL = "AUDIOVIZ_LIBEGL"
ENV_DEVICE = "AUDIOVIZ_GL_DEVICE"
EGL_EXTENSIONS = 0x3055
SOFTWARE_DEVICE_EXT = b"EGL_MESA_device_software"

# why the default device failed, once it has in this process: later contexts go straight to software
_default_failed: str | None = None


def _detail(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _libegl() -> str | None:
    """The libEGL glcontext will load (its own GLCONTEXT_LINUX_LIBEGL wins over any argument)."""
    return os.environ.get("GLCONTEXT_LINUX_LIBEGL") or os.environ.get(ENV_LIBEGL) or None


def _first_device() -> int | None:
    value = os.environ.get(ENV_DEVICE, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{ENV_DEVICE}={value!r} is not an EGL device number (0, 1, ...)") from None


@contextlib.contextmanager
def environment(**changes: str | None):
    """Set (or, with None, remove) environment variables for the duration of the block."""
    saved = {k: os.environ.get(k) for k in changes}
    try:
        _set_env(changes)
        yield
    finally:
        _set_env(saved)


def _set_env(values: dict[str, str | None]) -> None:
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def software_devices() -> list[int] | None:
    """Indices of EGL's software devices (Mesa's llvmpipe) among all EGL devices, as glcontext
    counts them; None when the devices cannot be listed (no libEGL, no device extension)."""
    from .devices import egl_devices  # devices.py builds on this module's settings

    found = egl_devices()
    return None if found is None else [d.index for d in found if d.software]


def _egl(moderngl, device_index: int | None = None):
    settings = {"libegl": os.environ.get(ENV_LIBEGL) or None, "device_index": device_index}
    return moderngl.create_context(standalone=True, backend="egl", require=330,
                                   **{k: v for k, v in settings.items() if v is not None})


def _software(moderngl):
    """A context on EGL's software device, with Mesa told to rasterise in software whatever
    device it ends up on (LIBGL_ALWAYS_SOFTWARE); glcontext's own device override is set aside."""
    found = software_devices()
    candidates = found if found else [0]
    error: Exception | None = None
    with environment(LIBGL_ALWAYS_SOFTWARE="1", GLCONTEXT_DEVICE_INDEX=None):
        for index in candidates:
            try:
                return _egl(moderngl, index)
            except Exception as e:  # glcontext raises bare Exceptions with the loader's message
                error = e
    raise error


def _writable_folder(path: Path) -> bool:
    """Whether `path` is, or could be made as, a folder this process can write into."""
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def _shader_cache() -> None:
    """Mesa keeps compiled shaders under $XDG_CACHE_HOME (or ~/.cache); where it cannot (a
    read-only or missing home, a file in the way) it prints a line of its own on stderr and
    compiles everything anew. Point it at the temporary folder instead, or turn it off."""
    if os.environ.get("MESA_SHADER_CACHE_DIR") or os.environ.get("MESA_SHADER_CACHE_DISABLE"):
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ.get("HOME") or "~", ".cache")
    if _writable_folder(Path(os.path.expanduser(base))):
        return
    fallback = Path(tempfile.gettempdir()) / f"audioviz-mesa-{os.getuid()}"
    with contextlib.suppress(OSError):
        fallback.mkdir(mode=0o700, exist_ok=True)
    if fallback.is_dir() and os.access(fallback, os.W_OK | os.X_OK) and fallback.stat().st_uid == os.getuid():
        os.environ["MESA_SHADER_CACHE_DIR"] = str(fallback)
    else:
        os.environ["MESA_SHADER_CACHE_DISABLE"] = "true"


def _one_llvm(ctx) -> None:
    """Mesa's drivers carry an LLVM of their own, and triton (which CUDA builds of torch import
    as soon as torch's compiler stack loads: an optimizer does in torch 2.14) brings another;
    importing it after Mesa's segfaults the process. Where Mesa renders and triton is not loaded
    yet, it is made unimportable: torch goes on without it (audioviz compiles no kernels)
    instead of crashing."""
    if "Mesa" in ctx.info.get("GL_VERSION", "") and "triton" not in sys.modules:
        sys.modules["triton"] = None


def create_context():
    """A standalone OpenGL 3.3 core context through EGL: the default device, else software
    rendering with a warning, else GLUnavailableError in one line."""
    global _default_failed
    try:
        import moderngl
    except ImportError as e:  # moderngl itself is a dependency; its C extension may fail to load
        raise GLUnavailableError(f"moderngl cannot be imported ({e}); {INSTALL_HINT}") from None
    # Mesa's EGL logs a failed driver as "libEGL warning: ..." lines of its own; the one line
    # audioviz prints says it instead (EGL_LOG_LEVEL=warning or debug brings them back)
    os.environ.setdefault("EGL_LOG_LEVEL", "fatal")
    _shader_cache()
    first, device = _default_failed, _first_device()
    if first is None:
        try:
            ctx = _egl(moderngl, device)
        except Exception as e:
            first = _detail(e)
        else:
            _one_llvm(ctx)
            return ctx
    try:
        ctx = _software(moderngl)
    except Exception as e:
        second = _detail(e)
        why = first if second == first else f"{first}; in software: {second}"
        raise GLUnavailableError(f"headless OpenGL 3.3 through EGL is unavailable ({why}); {INSTALL_HINT}") from None
    _one_llvm(ctx)
    if _default_failed is None:
        _default_failed = first
        where = "the default device" if device is None else f"EGL device {device}"
        print(f"warning: OpenGL through EGL failed on {where} ({first}); "
              f"rendering in software with {renderer(ctx)} instead, which is slower", file=sys.stderr, flush=True)
    return ctx


@contextlib.contextmanager
def gl_context():
    """A context from `create_context`, released when the block ends."""
    ctx = create_context()
    try:
        yield ctx
    finally:
        ctx.release()


def renderer(ctx) -> str:
    """The GL renderer's name, e.g. "llvmpipe (LLVM 19.1.7, 256 bits)" or a GPU's."""
    return ctx.info.get("GL_RENDERER", "unknown")


def is_software(ctx) -> bool:
    """Mesa's CPU rasterisers: there every shaded pixel costs CPU time the encoder also needs."""
    name = renderer(ctx).lower()
    return any(s in name for s in ("llvmpipe", "softpipe", "swrast", "lavapipe"))
