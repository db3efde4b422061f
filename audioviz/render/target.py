"""Where frames are drawn and how they are read back: the framebuffers of a render, made and
freed in one place."""

from __future__ import annotations

from .context import is_software
from .yuv import YuvConverter, supports

RGBA, YUV420P = "rgba", "yuv420p"


def frame_format(ctx, size: tuple[int, int], convert: str = "auto", pix_fmt: str = YUV420P) -> str:
    """Where RGB becomes YUV: "gl" (render/yuv.py: less to read back, nothing for the CPU),
    "ffmpeg" (swscale), or "auto": the GL on a GPU, ffmpeg on a software rasteriser, where
    texture fetches cost more than swscale does on its own thread (7 ms against 3 ms a 720p
    frame). Returns the format frames are read back in: yuv420p, or rgba for ffmpeg to convert
    (also for widths that the packed YUV planes do not tile, and for a `pix_fmt` the video is
    encoded in other than yuv420p, which converting twice would blur)."""
    if pix_fmt != YUV420P:
        return RGBA
    gl = convert == "gl" or (convert == "auto" and not is_software(ctx))
    return YUV420P if gl and supports(size) else RGBA


def free_framebuffer(ctx, fbo) -> None:
    """A framebuffer and its attachments (a batch worker renders thousands of tracks on one
    context, and a released framebuffer does not free its textures). The default framebuffer is
    bound first: moderngl re-binds the last bound one when it makes the next, and a released
    one there is a GL error."""
    ctx.detect_framebuffer(0).use()
    for attachment in (*fbo.color_attachments, fbo.depth_attachment):
        if attachment is not None:
            attachment.release()
    fbo.release()


class Target:
    """A framebuffer of `size` with colour and depth, read back as RGBA rows bottom-up (as GL
    reads them), or as top-down yuv420p converted on the GL side."""

    def __init__(self, ctx, size: tuple[int, int], fmt: str = RGBA):
        self.ctx, self.size, self.frame_format = ctx, size, fmt
        w, h = size
        if fmt == YUV420P:
            self._yuv = YuvConverter(ctx, size)
            self.fbo = self._yuv.fbo
            self.frame_bytes = w * h * 3 // 2
        else:
            self._yuv = None
            self.fbo = ctx.framebuffer([ctx.renderbuffer(size, 4)], ctx.depth_renderbuffer(size))
            self.frame_bytes = w * h * 4

    def use(self) -> None:
        self.fbo.use()

    def read_into(self, buf) -> None:
        """The frame into `buf`: a bytearray, or a moderngl Buffer (a pixel buffer: on a GPU the
        read then runs while the CPU goes on)."""
        if self._yuv is not None:
            self._yuv.read_into(buf)
        else:
            self.fbo.read_into(buf, components=4)

    def release(self) -> None:
        if self._yuv is not None:
            self._yuv.release()
        else:
            free_framebuffer(self.ctx, self.fbo)
