"""The one place a GL context is made: headless EGL, Mesa's llvmpipe on a machine without a GPU."""

from __future__ import annotations

from ..errors import GLUnavailableError

EGL_PACKAGES = "libegl1 libgl1-mesa-dri"
INSTALL_HINT = f"install Mesa's EGL and drivers (Debian/Ubuntu: sudo apt install {EGL_PACKAGES})"


def create_context():
    """A standalone OpenGL 3.3 core context through EGL, or GLUnavailableError in one line."""
    try:
        import moderngl
    except ImportError as e:  # moderngl itself is a dependency; its C extension may fail to load
        raise GLUnavailableError(f"moderngl cannot be imported ({e}); {INSTALL_HINT}") from None
    try:
        return moderngl.create_context(standalone=True, backend="egl", require=330)
    except Exception as e:  # glcontext raises bare Exceptions with the loader's message
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GLUnavailableError(f"headless OpenGL 3.3 through EGL is unavailable ({detail}); {INSTALL_HINT}") from None


def renderer(ctx) -> str:
    """The GL renderer's name, e.g. "llvmpipe (LLVM 19.1.7, 256 bits)" or a GPU's."""
    return ctx.info.get("GL_RENDERER", "unknown")


def is_software(ctx) -> bool:
    """Mesa's CPU rasterisers: there every shaded pixel costs CPU time the encoder also needs."""
    name = renderer(ctx).lower()
    return any(s in name for s in ("llvmpipe", "softpipe", "swrast", "lavapipe"))
