"""A user scene in Python:  audioviz render song.mp3 --scene examples/my_scene.py

A scene file defines exactly one subclass of `audioviz.scenes.base.Scene`. It declares ten
parameters (each reaches `draw` as a value in [0, 1]) and which matter most, builds its GL
objects once in `setup`, and draws one frame per `draw` call into the bound framebuffer. The
helpers `self.program` (adds the uniforms u_time, u_dt, u_resolution, u_params[10] and the
colour helpers of audioviz/scenes/shaders/common.glsl) and `Uniforms` do the plumbing.

This one draws a field of soft discs on a dark gradient: each parameter moves one thing.
"""

import math

import numpy as np

from audioviz.scenes.base import Param, Scene, Uniforms

DISCS = 24

VERTEX = """
in vec2 in_corner;       // -1 .. 1 across the quad
in vec3 in_disc;         // angle on the ring, ring (0 or 1), phase
out vec2 v_local;
out float v_ring;
uniform float u_spin;    // integrated in Python, so a speed change never jumps the picture
void main() {
    float aspect = u_resolution.x / u_resolution.y;
    vec2 fit = aspect > 1.0 ? vec2(1.0 / aspect, 1.0) : vec2(1.0, aspect);  // circles stay round
    float radius = in_disc.y > 0.5 ? mix(0.6, 0.9, u_params[1]) : mix(0.15, 0.5, u_params[0]);
    float angle = in_disc.x + u_spin * (in_disc.y > 0.5 ? -1.0 : 1.0);
    float bob = 0.08 * u_params[5] * sin(u_time * 2.0 + in_disc.z);
    vec2 centre = (radius + bob) * vec2(cos(angle), sin(angle));
    float size = mix(0.05, 0.2, u_params[2]);
    v_local = in_corner;
    v_ring = in_disc.y;
    gl_Position = vec4((centre + in_corner * size) * fit, 0.0, 1.0);
}
"""

FRAGMENT = """
in vec2 v_local;
in float v_ring;
out vec4 frag;
void main() {
    float r = length(v_local);
    float edge = fwidth(r);
    float body = 1.0 - smoothstep(0.4 - edge, 0.4 + edge, r);   // anti-aliased rim
    float glow = exp(-r * r * 5.0) * (1.0 - r) * u_params[6];
    float hue = fract(u_params[3] + 0.15 * v_ring * u_params[4]);
    vec3 colour = srgb_to_linear(hsl2rgb(vec3(hue, 0.7, 0.6)));
    float alpha = clamp(body + glow, 0.0, 1.0);
    frag = vec4(colour * alpha, alpha);   // premultiplied
}
"""

BACKGROUND_VERTEX = """
in vec2 in_ndc;
out vec3 v_colour;
void main() {
    vec3 top = srgb_to_linear(hsl2rgb(vec3(u_params[7], 0.35, 0.12)));
    v_colour = mix(top * 0.3, top, 0.5 + 0.5 * in_ndc.y) * mix(0.4, 1.4, u_params[8]);
    gl_Position = vec4(in_ndc, 0.0, 1.0);
}
"""

BACKGROUND_FRAGMENT = """
in vec3 v_colour;
out vec4 frag;
void main() { frag = finish(v_colour, gl_FragCoord.xy); }
"""


class OrbitScene(Scene):
    name = "orbits"
    description = "two counter-rotating rings of soft discs on a gradient"
    params = (
        Param("inner_radius", "radius of the inner ring"),
        Param("outer_radius", "radius of the outer ring"),
        Param("disc_size", "size of every disc"),
        Param("hue", "colour of the discs"),
        Param("hue_split", "how different the two rings' colours are"),
        Param("bounce", "how far discs bob in and out"),
        Param("glow", "halo around each disc"),
        Param("sky_hue", "colour of the background"),
        Param("sky_brightness", "brightness of the background"),
        Param("spin", "rotation speed of the rings"),
    )
    importance = ("disc_size", "outer_radius", "inner_radius", "glow", "hue", "spin",
                  "bounce", "hue_split", "sky_hue", "sky_brightness")

    def setup(self, ctx, size, seed):
        import moderngl

        self.ctx, self.moderngl = ctx, moderngl
        rng = np.random.default_rng(seed)
        self.discs = self.program(ctx, VERTEX, FRAGMENT)
        self.background = self.program(ctx, BACKGROUND_VERTEX, BACKGROUND_FRAGMENT)
        self.uniforms = [Uniforms(p, size) for p in (self.discs, self.background)]
        corners = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], dtype="f4")
        angle = np.tile(np.linspace(0, 2 * math.pi, DISCS // 2, endpoint=False), 2)
        ring = np.repeat([0.0, 1.0], DISCS // 2)
        discs = np.stack([angle, ring, rng.uniform(0, 2 * math.pi, DISCS)], axis=1).astype("f4")
        self.disc_vao = ctx.vertex_array(self.discs, [
            (ctx.buffer(corners.tobytes()), "2f", "in_corner"),
            (ctx.buffer(discs.tobytes()), "3f/i", "in_disc"),
        ])
        self.background_vao = self.screen_grid(ctx, self.background, 4, 4)
        self.spin = 0.0

    def draw(self, t, dt, values):
        self.spin += dt * (0.05 + 0.6 * float(values[9]))
        self.discs["u_spin"].value = self.spin
        for u in self.uniforms:
            u.write(t, dt, values)
        ctx, gl = self.ctx, self.moderngl
        ctx.disable(gl.DEPTH_TEST | gl.BLEND)
        self.background_vao.render()
        ctx.enable(gl.BLEND)
        ctx.blend_func = gl.ONE, gl.ONE_MINUS_SRC_ALPHA
        self.disc_vao.render(gl.TRIANGLE_STRIP, instances=DISCS)
