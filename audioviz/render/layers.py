"""What is drawn over a scene's frame in GL (the frame loop's overlays: render/frames.py), and
the one way images reach it: premultiplied RGBA composed once on the CPU, drawn as textures
pixel for pixel, so that an overlay costs a few textured quads a frame and no pass through
ffmpeg."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Element:
    """A premultiplied RGBA image (h, w, 4) float32, its top-left corner at (x, y) in the frame,
    and whether it fades out with the intro (render/titles.py)."""

    rgba: np.ndarray
    x: int
    y: int
    intro: bool = False


class GLOverlay:
    """What every overlay shares: the GL objects it made, freed by `release`; the rows at the
    bottom of the frame it changes on its own (`band`: the sync meter leaves them out)."""

    band = 0

    def __init__(self, ctx):
        self.ctx, self.made = ctx, []

    def _made(self, obj):
        self.made.append(obj)
        return obj

    def _blending(self, func) -> None:
        """Drawn over the frame as it is: no depth test or culling, blended by `func`."""
        import moderngl

        self.ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = func

    def release(self) -> None:
        while self.made:
            self.made.pop().release()


_VERTEX = """
#version 330 core
uniform vec4 u_rect;  // x0, y0, x1, y1 in clip space
out vec2 v_uv;
void main() {
    vec2 k = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    v_uv = k;
    gl_Position = vec4(mix(u_rect.xy, u_rect.zw, k), 0.0, 1.0);
}
"""

_FRAGMENT = """
#version 330 core
uniform sampler2D u_image;
uniform float u_opacity;
in vec2 v_uv;
out vec4 frag;
void main() { frag = texture(u_image, v_uv) * u_opacity; }  // premultiplied
"""


class ImageLayers(GLOverlay):
    """`elements` drawn on `ctx` over frames of `size`, each at the `opacity` it has in frame f."""

    def __init__(self, ctx, size: tuple[int, int], elements: list[Element]):
        import moderngl

        super().__init__(ctx)
        self.quads = []
        try:
            self.prog = self._made(ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT))
            self.prog["u_image"].value = 0
            self.vao = self._made(ctx.vertex_array(self.prog, []))
            w, h = size
            for e in elements:
                eh, ew = e.rgba.shape[:2]
                pixels = np.ascontiguousarray((np.clip(e.rgba[::-1], 0, 1) * 255 + 0.5).astype(np.uint8))
                tex = self._made(ctx.texture((ew, eh), 4, pixels.tobytes()))
                tex.filter = moderngl.NEAREST, moderngl.NEAREST  # drawn pixel for pixel
                y0 = h - e.y - eh  # GL counts rows from the bottom
                self.quads.append((e, tex, (2 * e.x / w - 1, 2 * y0 / h - 1, 2 * (e.x + ew) / w - 1, 2 * (y0 + eh) / h - 1)))
        except BaseException:
            self.release()
            raise

    def opacity(self, element: Element, f: int) -> float:
        return 1.0

    def draw(self, f: int) -> None:
        """The elements at frame `f`, over what is in the bound framebuffer."""
        import moderngl

        self._blending((moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA))
        for element, tex, rect in self.quads:
            opacity = self.opacity(element, f)
            if opacity <= 0.0:
                continue
            self.prog["u_rect"].value = rect
            self.prog["u_opacity"].value = opacity
            tex.use(0)
            self.vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
        self.ctx.disable(moderngl.BLEND)  # as the scene found it: scenes enable what they use
