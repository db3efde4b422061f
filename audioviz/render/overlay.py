"""`--overlay debug`: what drives the picture, drawn along the bottom of the video.

A dark band holds, scrolling past a playhead, the ten parameter curves in the scene's order (as
the scene receives them), the music's onset envelope with the pulse and the loudness gain over
it, and a tick on every beat. The data sit in one float texture and the curves are line strips
whose vertices read it, so a frame costs a few hundred vertices, whatever its size.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..mapping.timeline import frame_times
from ..motion import Motion
from ..rhythm import Rhythm, frame_of
from .layers import Element, GLOverlay, ImageLayers
from .text import line, width_of

BAND = 0.24  # of the frame's height
PLAYHEAD = 0.75  # across the band: the past to its left, what is about to come to its right
SECONDS = 8.0  # shown across the band
ROW = 4096  # texels per row of the data texture: 1024 frames of 16 channels
CHANNELS = 16  # 10 parameters, pulse, energy, onset envelope, beat tick, 2 unused

# ten colours that stay apart on a dark band, then the pulse, the gain and the envelope
PALETTE = np.array([
    (0.95, 0.33, 0.33), (0.98, 0.62, 0.25), (0.95, 0.88, 0.30), (0.55, 0.90, 0.35), (0.25, 0.85, 0.65),
    (0.30, 0.80, 0.95), (0.40, 0.55, 1.00), (0.68, 0.45, 1.00), (0.95, 0.45, 0.85), (0.85, 0.85, 0.85),
    (1.00, 1.00, 1.00), (1.00, 0.85, 0.20), (0.55, 0.55, 0.60),
], np.float32)

_VERTEX = """
#version 330 core
uniform sampler2D u_data;
uniform int u_frames;
uniform float u_frame;    // the frame being drawn
uniform float u_span;     // frames across the band
uniform vec2 u_size;      // the video's size in pixels
uniform float u_band;     // the band's height in pixels
uniform int u_mode;       // 0 curves, 1 envelope area, 2 beat ticks, 3 band, 4 playhead
uniform vec3 u_colours[13];
out vec4 v_colour;

float chan(int f, int c) {
    int i = clamp(f, 0, u_frames - 1) * 4 + c / 4;
    return texelFetch(u_data, ivec2(i % $ROW, i / $ROW), 0)[c % 4];
}
vec2 at(float x, float y) { return vec2(2.0 * x / u_size.x - 1.0, 2.0 * y / u_size.y - 1.0); }

void main() {
    float first = floor(u_frame - $PLAYHEAD * u_span);
    float w = u_size.x, h = u_band;
    if (u_mode == 3) {  // the band
        gl_Position = vec4(at(float(gl_VertexID & 1) * w, float(gl_VertexID >> 1) * h), 0.0, 1.0);
        v_colour = vec4(0.0, 0.0, 0.0, 0.7);
        return;
    }
    if (u_mode == 4) {  // the playhead
        gl_Position = vec4(at($PLAYHEAD * w, float(gl_VertexID) * h), 0.0, 1.0);
        v_colour = vec4(1.0, 1.0, 1.0, 0.6);
        return;
    }
    int i = u_mode == 0 ? gl_VertexID : gl_VertexID / 2;
    float f = first + float(i);
    float x = ((f - u_frame) / u_span + $PLAYHEAD) * w;
    bool inside = f >= 0.0 && f < float(u_frames);
    int c = u_mode == 0 ? gl_InstanceID : 12;
    float v = chan(int(f), c);
    if (u_mode == 0) {  // ten parameters above, pulse and gain over the envelope below
        float lo = c < 10 ? 0.46 : 0.14, hi = c < 10 ? 0.86 : 0.42;
        gl_Position = vec4(at(x, h * mix(lo, hi, v)), 0.0, 1.0);
        v_colour = vec4(u_colours[c], inside ? 1.0 : 0.0);
    } else if (u_mode == 1) {  // the envelope, filled
        float top = (gl_VertexID & 1) == 1 ? v : 0.0;
        gl_Position = vec4(at(x, h * mix(0.14, 0.42, top)), 0.0, 1.0);
        v_colour = vec4(u_colours[12], inside ? 0.8 : 0.0);
    } else {  // a tick on the frame of each beat
        float tick = chan(int(f), 13);
        float y = (gl_VertexID & 1) == 1 ? 0.11 : 0.02;
        gl_Position = vec4(at(x, h * y), 0.0, 1.0);
        v_colour = vec4(1.0, 1.0, 1.0, inside && tick > 0.5 ? 0.9 : 0.0);
    }
}
"""

_FRAGMENT = """
#version 330 core
in vec4 v_colour;
out vec4 frag;
void main() { frag = v_colour; }
"""

def frame_data(motion: Motion, rhythm: Rhythm, fps: Fraction) -> np.ndarray:
    """(F, 16) float32: what each frame of the band shows."""
    n = len(motion)
    data = np.zeros((n, CHANNELS), np.float32)
    data[:, :10] = motion.values
    data[:, 10] = motion.pulse
    data[:, 11] = motion.energy
    if len(rhythm.flux):
        # the envelope's strongest in each frame's time, scaled so its loud peaks reach the top
        env_t = np.arange(len(rhythm.flux)) / rhythm.rate
        per_frame = np.maximum.reduceat(rhythm.flux, np.minimum(
            np.searchsorted(env_t, frame_times(n, fps) - 0.5 / float(fps)), len(rhythm.flux) - 1))
        top = float(np.percentile(per_frame, 98)) or 1.0
        data[:, 12] = np.clip(per_frame / top, 0.0, 1.0)
    beats = frame_of(rhythm.beats, fps)
    data[beats[(beats >= 0) & (beats < n)], 13] = 1.0
    return data


def legend(names: tuple[str, ...], height: int, width: int) -> np.ndarray:
    """(h, w, 4) uint8 image, at most `width` wide: the parameter names in their colours, then
    the lower curves', as large as the video's `height` suggests and its width allows (cut off
    at the right only where even the smallest letters do not fit)."""
    words = [(n, PALETTE[i]) for i, n in enumerate(names)] + [
        ("| pulse", PALETTE[10]), ("gain", PALETTE[11]), ("onsets", PALETTE[12]), ("beats", (1, 1, 1))]

    def line_width(px: int) -> float:
        return sum(width_of(n, px) for n, _ in words) + px * len(words)

    px = max(10, height // 45)
    while px > 9 and line_width(px) > width:
        px -= 1
    inks = [(line(n, px), colour) for n, colour in words]
    img = np.zeros((inks[0][0].shape[0], sum(ink.shape[1] + px for ink, _ in inks), 4), np.uint8)
    x = 0
    for ink, colour in inks:  # straight alpha: the band blends the legend by it
        img[:, x:x + ink.shape[1], :3] = [int(255 * c) for c in colour]
        img[:, x:x + ink.shape[1], 3] = np.round(ink * 255)
        x += ink.shape[1] + px
    return img[:, :width]


class DebugOverlay(GLOverlay):
    """The band of `motion` and `rhythm` at `fps`, drawn on `ctx` over frames of `size`; the
    parameters are named `names`."""

    def __init__(self, ctx, size: tuple[int, int], motion: Motion, rhythm: Rhythm, fps: Fraction,
                 names: tuple[str, ...]):
        import moderngl

        super().__init__(ctx)
        self.size = size
        data = frame_data(motion, rhythm, fps).reshape(-1, 4)  # four texels a frame
        rows = -(-len(data) // ROW)
        texels = np.zeros((rows * ROW, 4), np.float32)
        texels[: len(data)] = data
        self.data = self._made(ctx.texture((ROW, rows), 4, texels.tobytes(), dtype="f4"))
        self.data.filter = moderngl.NEAREST, moderngl.NEAREST
        src = _VERTEX.replace("$ROW", str(ROW)).replace("$PLAYHEAD", repr(PLAYHEAD))
        self.prog = self._made(ctx.program(vertex_shader=src, fragment_shader=_FRAGMENT))
        self.band = band = self.band_height(size)
        for name, value in (("u_frames", len(motion)), ("u_span", SECONDS * float(fps)),
                            ("u_size", tuple(float(v) for v in size)), ("u_band", float(band)), ("u_data", 0)):
            self.prog[name].value = value
        self.prog["u_colours"].write(PALETTE.tobytes())
        self.frame = self.prog["u_frame"]
        self.mode = self.prog["u_mode"]
        self.vao = self._made(ctx.vertex_array(self.prog, []))
        self.vertices = int(SECONDS * float(fps)) + 2
        w, h = size
        pad = max(2, h // 360 * 7 // 2)
        text = legend(names, h, w - 2 * pad).astype(np.float32) / 255.0
        text[..., :3] *= text[..., 3:]
        self.legend = self._made(ImageLayers(ctx, size, [Element(text, pad, h - band + pad)]))

    @staticmethod
    def band_height(size: tuple[int, int]) -> int:
        """Rows of the video the band covers, at the bottom."""
        return max(24, round(size[1] * BAND))

    def draw(self, f: int) -> None:
        """The band of frame `f`, over what the scene drew in the bound framebuffer."""
        import moderngl

        self._blending((moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA))
        self.data.use(0)
        self.frame.value = float(f)
        for mode, prim, vertices, instances in ((3, moderngl.TRIANGLE_STRIP, 4, 1),
                                                (1, moderngl.TRIANGLE_STRIP, 2 * self.vertices, 1),
                                                (0, moderngl.LINE_STRIP, self.vertices, 12),
                                                (2, moderngl.LINES, 2 * self.vertices, 1),
                                                (4, moderngl.LINES, 2, 1)):
            self.mode.value = mode
            self.vao.render(prim, vertices=vertices, instances=instances)
        self.legend.draw(f)  # leaves the blending off, as the scene found it
