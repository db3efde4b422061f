"""Psychedelic: two domain-warped waves read as a draped sheet of shot silk, coloured in HSL.

The waves' sum is the height of a sheet, shaded from its analytic slope by a soft light with a
glint on every fold. The hue drifts slowly across the picture and spreads along the bands, and
folds that slope one way turn towards an accent hue, as silk woven from two colours does.
Turning the hue rather than mixing in a second colour keeps the blend vivid instead of muddy.
Two waves half a radian apart drape; a third, crossing wave and a per-pixel swirl of one wave
by the other were tried and cut: lumpier, and not worth their cost.

Per-pixel work is the whole scene, so it is split by how fast things vary. The domain warp and
its Jacobian, the waves' phases and gradients, their band-limiting and the hue's drift are
evaluated per vertex of a coarse screen grid. Interpolating a phase linearly errs by half its
curvature; the fragment shader adds back half the interpolated gradient, which cancels that
error to second order, so cells of 45 px at 720p look like per-pixel evaluation (llvmpipe pays
about a microsecond a triangle). Per pixel remain a sine and cosine per wave (refined parabolas
sharing a range reduction), the lighting, the HSL colour and `finish()`. A frame costs about
1.3 times one of `bar`'s on llvmpipe at 1280x720.

Band-limiting fades each wave out as its local period (the warp's Jacobian times its
wavenumber) shrinks from 10 px to 5 px, and the glint, which is narrower, from 20 px to 10 px.
The pattern is built in units of the picture's shorter side, so it is isotropic in pixels and
every aspect ratio shows the same scene around the centre.

The sheet fills the frame and has no background of its own. Without one (an alpha channel)
its crests are the subject, ribbons of silk over nothing, and the troughs between them, which
the full picture sinks into shadow, are clear: the pattern keeps its shape, and what shows
through it follows the folds. Alpha from brightness alone would leave nearly all of the frame
half covered, as the sheet is seldom dark.

Wave speed integrates into one phase (`phase += speed * dt`), so a change of speed changes the
flow's rate and never jumps the pattern; every time-dependent term in the shaders is a phase
added inside a sine, never a translation that the density would scale.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Param, Scene, Uniforms, shader_source

SPEED = (0.2, 3.0)  # radians of wave phase per second
# The shaders advance each sine at a multiple of the phase that is a whole number of hundredths,
# so every one of them completes whole turns when the phase wraps here.
PHASE_PERIOD = 200 * math.pi
# Grid cells across the picture's shorter side, square in pixels. With the fragment shader's
# second-order correction the picture differs from a 90-cell grid's by about 1/255 on average
# for mid-range values; with every parameter at 1, where the warp bends hardest, bands shift by
# a fraction of their width (9/255 on average) but show no kinks.
GRID_CELLS = 16


class PsychedelicScene(Scene):
    name = "psychedelic"
    description = "a full-screen flow of domain-warped waves, shaded as draped silk, HSL-coloured"
    params = (
        Param("hue", "base hue of the colouring, around the colour wheel"),
        Param("saturation", "saturation of every colour, from greyish to vivid"),
        Param("brightness", "lightness of every colour, from deep to pale"),
        Param("color_mix", "how far folds sloping one way turn to an accent hue, as in shot silk"),
        Param("hue_variation", "how far hues spread from the base hue, across picture and bands"),
        Param("wave_density", "how many waves fill the picture"),
        Param("wave_displacement", "how strongly the domain warp bends the waves into folds"),
        Param("wave_speed", "how fast the waves flow"),
        Param("distortion_x", "broad sway of the pattern along X"),
        Param("distortion_y", "broad sway of the pattern along Y"),
    )
    # Lightness and the sheet's undulation read at a glance, so they take the most dynamic
    # components; the hues next. Density zooms the whole pattern, which is restless when it moves
    # fast; the sways are broad and slow to read, and speed shows only as a rate of flow.
    importance = ("brightness", "wave_displacement", "hue", "color_mix", "hue_variation",
                  "wave_density", "saturation", "distortion_x", "distortion_y", "wave_speed")
    rest = 0.35  # a slow, gently folded sheet of middling colour
    # a hit zooms into the sheet and brightens it, relaxing as the pulse decays
    uses_pulse = True

    def setup(self, ctx, size, seed):
        self.ctx = ctx
        w, h = size
        short = min(w, h)
        rng = np.random.default_rng(seed)
        waves = shader_source("psychedelic_waves.glsl") + "\n#line 1\n"
        names = ("psychedelic.vert", "psychedelic.frag")
        vert, frag = (waves + shader_source(n) for n in names)
        if not self.background:
            frag = "#define CLEAR_TROUGHS\n" + frag
        self.prog = self.program(ctx, vert, frag, names=names)
        self.uniforms = Uniforms(self.prog, size)
        self.prog["u_aspect"].value = (w / short, h / short)
        self.prog["u_px"].value = short / 2
        self.prog["u_seed"].write(rng.uniform(0, 2 * math.pi, 12).astype("f4").tobytes())
        turn = rng.uniform(0, 2 * math.pi)
        c, s = math.cos(turn), math.sin(turn)
        self.prog["u_turn"].value = (c, s, -s, c)
        self.phase = float(rng.uniform(0, PHASE_PERIOD))
        self.u_phase = self.prog["u_phase"]
        columns, rows = (max(1, round(side * GRID_CELLS / short)) for side in size)
        self.vao = self.screen_grid(ctx, self.prog, columns, rows)

    def draw(self, t, dt, values):
        import moderngl

        speed = SPEED[0] + (SPEED[1] - SPEED[0]) * min(max(float(values[7]), 0.0), 1.0)
        self.phase = (self.phase + speed * dt) % PHASE_PERIOD
        self.u_phase.value = self.phase
        self.uniforms.write(t, dt, values, self.pulse)
        self.ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND | moderngl.CULL_FACE)
        self.vao.render()
