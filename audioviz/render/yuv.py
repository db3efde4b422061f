"""RGB -> YUV 4:2:0 (BT.709, limited range) on the GL side, so the CPU never converts a frame.

On a software rasteriser the conversion in ffmpeg (swscale, one thread) costs about as much
as drawing a simple scene, and reading RGBA back moves 4 bytes a pixel where yuv420p needs 1.5.
Here two small passes write the planes, already top-down, into RGBA8 targets that pack four
samples per texel (RGBA is the read path that Mesa has fast), and three reads land them in
one buffer in yuv420p's planar layout: Y (w x h), then U and V (w/2 x h/2 each).
"""

from __future__ import annotations

import numpy as np

_VERTEX = """
#version 330 core
in vec2 in_corner;
void main() { gl_Position = vec4(in_corner, 0.0, 1.0); }
"""

_COMMON = """
#version 330 core
uniform sampler2D u_rgb;  // the scene's frame, GL's bottom-up rows
uniform vec2 u_size;      // its size in pixels
// BT.709 luma weights, and the limited-range scaling of Y (16..235) and Cb/Cr (16..240)
const vec3 LUMA = vec3(0.2126, 0.7152, 0.0722);
float y_of(vec3 c) { return (16.0 + 219.0 * dot(c, LUMA)) / 255.0; }
vec2 uv_of(vec3 c) {
    float y = dot(c, LUMA);
    return (128.0 + 224.0 * vec2((c.b - y) / 1.8556, (c.r - y) / 1.5748)) / 255.0;
}
// (x, y) in image pixels, y counted from the top
vec3 at(vec2 p) { return texture(u_rgb, vec2(p.x, u_size.y - p.y) / u_size).rgb; }
"""

_LUMA = _COMMON + """
out vec4 frag;
void main() {
    // texel (i, r) holds the luma of pixels 4i .. 4i+3 of image row r
    vec2 p = vec2(floor(gl_FragCoord.x) * 4.0 + 0.5, floor(gl_FragCoord.y) + 0.5);
    frag = vec4(y_of(at(p)), y_of(at(p + vec2(1, 0))), y_of(at(p + vec2(2, 0))), y_of(at(p + vec2(3, 0))));
}
"""

_CHROMA = _COMMON + """
layout(location = 0) out vec4 frag_u;
layout(location = 1) out vec4 frag_v;
// H.264's default chroma siting (left): each sample sits on an even column, between two rows.
// Two bilinear taps, each halfway between two columns and two rows, make the filter
// 1/4, 1/2, 1/4 across three columns times 1/2, 1/2 down two rows.
vec3 chroma_rgb(float cx, float cy) {
    vec2 p = vec2(2.0 * cx, 2.0 * cy + 1.0);
    return 0.5 * (at(p) + at(p + vec2(1, 0)));
}
void main() {
    float cx = floor(gl_FragCoord.x) * 4.0, cy = floor(gl_FragCoord.y);
    vec2 a = uv_of(chroma_rgb(cx, cy)), b = uv_of(chroma_rgb(cx + 1.0, cy));
    vec2 c = uv_of(chroma_rgb(cx + 2.0, cy)), d = uv_of(chroma_rgb(cx + 3.0, cy));
    frag_u = vec4(a.x, b.x, c.x, d.x);
    frag_v = vec4(a.y, b.y, c.y, d.y);
}
"""


def supports(size: tuple[int, int]) -> bool:
    """Whether the packed planes tile exactly: four chroma samples a texel need width % 8 == 0."""
    w, h = size
    return w % 8 == 0 and h % 2 == 0


class YuvConverter:
    """A colour texture for the scene to draw into (`fbo`), and `read_into(buf)` that fills
    `buf` (w*h*3/2 bytes) with the frame as top-down yuv420p, BT.709 limited range."""

    def __init__(self, ctx, size: tuple[int, int]):
        import moderngl

        if not supports(size):
            raise ValueError(f"{size[0]}x{size[1]}: the GL-side conversion needs a width divisible by 8")
        self.ctx = ctx
        w, h = self.size = size
        self.frame_bytes = w * h * 3 // 2
        self.colour = ctx.texture(size, 4)
        self.colour.filter = moderngl.LINEAR, moderngl.LINEAR
        self.colour.repeat_x = self.colour.repeat_y = False  # clamp: the edge columns repeat
        self.fbo = ctx.framebuffer([self.colour], ctx.depth_renderbuffer(size))
        self._luma = ctx.framebuffer([ctx.texture((w // 4, h), 4)])
        self._chroma = ctx.framebuffer([ctx.texture((w // 8, h // 2), 4), ctx.texture((w // 8, h // 2), 4)])
        quad = np.array([[-1, -1], [1, -1], [1, 1], [-1, -1], [1, 1], [-1, 1]], dtype="f4")
        self._quad = ctx.buffer(quad.tobytes())
        self._passes = []
        for source, target in ((_LUMA, self._luma), (_CHROMA, self._chroma)):
            prog = ctx.program(vertex_shader=_VERTEX, fragment_shader=source)
            prog["u_size"].value = (float(w), float(h))
            prog["u_rgb"].value = 0
            self._passes.append((ctx.vertex_array(prog, [(self._quad, "2f", "in_corner")]), target))

    def read_into(self, buf) -> None:
        import moderngl

        ctx = self.ctx
        ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self.colour.use(0)
        for vao, target in self._passes:
            target.use()
            vao.render()
        w, h = self.size
        self._luma.read_into(buf, components=4)
        quarter = w * h // 4
        self._chroma.read_into(buf, components=4, attachment=0, write_offset=w * h)
        self._chroma.read_into(buf, components=4, attachment=1, write_offset=w * h + quarter)

    def release(self) -> None:
        from .target import free_framebuffer

        for fbo in (self.fbo, self._luma, self._chroma):
            free_framebuffer(self.ctx, fbo)
        for vao, _ in self._passes:
            program = vao.program
            vao.release()
            program.release()
        self._quad.release()
