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


# What a scene drawn over a transparent background leaves is premultiplied colour: opaque
# surfaces, blended ones, and light added where the alpha stays 0 (glows, stars, additive
# particles). Straight alpha, which ProRes 4444 and VP9 carry, keeps such light as coverage at
# least its brightness: composed over black it is the same picture, and over footage it adds
# as the glow did.
_STRAIGHT = """
#version 330 core
uniform sampler2D u_frame;
out vec4 frag;
void main() {
    vec4 c = texelFetch(u_frame, ivec2(gl_FragCoord.xy), 0);
    float a = clamp(max(c.a, max(c.r, max(c.g, c.b))), 0.0, 1.0);
    frag = a > 0.0 ? vec4(clamp(c.rgb / a, 0.0, 1.0), a) : vec4(0.0);
}
"""
_FULLSCREEN = """
#version 330 core
void main() { gl_Position = vec4(vec2(gl_VertexID & 1, gl_VertexID >> 1) * 4.0 - 1.0, 0.0, 1.0); }
"""


class Target:
    """A framebuffer of `size` with colour and depth, read back as RGBA rows bottom-up (as GL
    reads them; with `alpha`, straight alpha over what was left transparent), or as top-down
    yuv420p converted on the GL side."""

    def __init__(self, ctx, size: tuple[int, int], fmt: str = RGBA, alpha: bool = False):
        self.ctx, self.size, self.frame_format = ctx, size, fmt
        w, h = size
        self._yuv = self._straight = self._vao = self._out = None
        if fmt == YUV420P:
            if alpha:
                raise ValueError("an alpha channel is read back as RGBA")
            self._yuv = YuvConverter(ctx, size)
            self.fbo = self._yuv.fbo
            self.frame_bytes = w * h * 3 // 2
            return
        self.frame_bytes = w * h * 4
        if not alpha:
            self.fbo = ctx.framebuffer([ctx.renderbuffer(size, 4)], ctx.depth_renderbuffer(size))
            return
        self.fbo = ctx.framebuffer([ctx.texture(size, 4)], ctx.depth_renderbuffer(size))
        try:
            self._out = ctx.framebuffer([ctx.renderbuffer(size, 4)])
            self._straight = ctx.program(vertex_shader=_FULLSCREEN, fragment_shader=_STRAIGHT)
            self._vao = ctx.vertex_array(self._straight, [])
        except BaseException:
            self.release()
            raise

    def use(self) -> None:
        self.fbo.use()

    def read_into(self, buf) -> None:
        """The frame into `buf`: a bytearray, or a moderngl Buffer (a pixel buffer: on a GPU the
        read then runs while the CPU goes on)."""
        if self._yuv is not None:
            self._yuv.read_into(buf)
        elif self._straight is not None:
            import moderngl

            self._out.use()
            self.ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST | moderngl.CULL_FACE)
            self.fbo.color_attachments[0].use(0)
            self._vao.render(moderngl.TRIANGLES, vertices=3)
            self._out.read_into(buf, components=4)
        else:
            self.fbo.read_into(buf, components=4)

    def release(self) -> None:
        if self._yuv is not None:
            self._yuv.release()
            return
        for obj in (self._vao, self._straight):
            if obj is not None:
                obj.release()
        self._vao = self._straight = None
        if self._out is not None:
            free_framebuffer(self.ctx, self._out)
            self._out = None
        free_framebuffer(self.ctx, self.fbo)
