// The psychedelic scene's slowly varying parts, per vertex of a coarse screen grid: the domain
// warp and its Jacobian, the two waves' phases, how much of each survives band-limiting, and the
// hue's slow drift. The fragment shader adds the fine detail.
uniform vec2 u_aspect;    // NDC -> units in which the shorter side spans [-1, 1]
uniform float u_px;       // pixels per unit
uniform float u_phase;    // the integrated wave phase, radians (advances with wave_speed)
uniform mat2 u_turn;      // a seeded rotation of the whole pattern
uniform vec4 u_seed[3];   // seeded phase offsets, radians: warp stages, waves, envelopes, hue drift

in vec2 in_ndc;

out vec4 v_wave;        // the two waves' phases less half their tangents' reach (see main); weights
out vec4 v_grad;        // each wave's phase gradient per unit of the picture, over the wavenumber
out vec4 v_point;       // the point in the picture times half the waves' wavenumber; hue (turns);
                        // the glint's strength
flat out vec4 v_style;  // HSL chroma and lightness; hue spread along the bands, accent hue (turns)

// What each parameter spans, from 0 to 1.
const vec2 SATURATION = vec2(0.1, 0.9);    // HSL saturation
const vec2 BRIGHTNESS = vec2(0.3, 0.8);    // HSL lightness
const vec2 COLOR_MIX = vec2(0.0, 1.0);     // how far the folds that show the accent turn to its hue
const vec2 HUE_SPREAD = vec2(0.0, 0.35);   // turns either side of the base hue, across the picture
const vec2 ZOOM = vec2(1.0, 1.5);          // the warp's scale follows the density, less steeply
const vec2 WAVENUMBER = vec2(6.0, 13.0);   // radians per unit of the warped pattern
const vec2 DISPLACEMENT = vec2(0.25, 0.8); // units of the warped pattern
const vec2 SWAY = vec2(0.0, 1.1);          // units of the warped pattern, along X and along Y

const vec2 WEIGHTS = vec2(0.62, 0.38);     // the waves' shares of the pattern
const float ACCENT_HUE = 0.3;              // the accent hue from the base hue, turns
const float BAND_SPREAD = 0.6;             // the hue's spread along the bands, over HUE_SPREAD
const float ZOOM_KICK = 0.22;              // a hit zooms into the sheet by this share
const float SURGE = 0.7;                   // and brightens it by this share

float param(int i, vec2 range) { return mix(range.x, range.y, clamp(u_params[i], 0.0, 1.0)); }

// One stage of the warp, p.x swayed by a wave along p.y and p.y by one along p.x; the Jacobian
// `jac` (columns: d/dx, d/dy of the original point) follows it by the chain rule.
void stage(inout vec2 p, inout mat2 jac, vec2 amp, vec2 freq, vec2 rate, vec2 seed) {
    vec2 arg = freq * p.yx + rate * u_phase + seed;
    vec2 slope = amp * freq * cos(arg);
    p += amp * sin(arg);
    jac = mat2(1.0, slope.y, slope.x, 1.0) * jac;
}

void main() {
    float hue = u_params[0];
    float sat = param(1, SATURATION);
    float light = param(2, BRIGHTNESS);
    float spread = param(4, HUE_SPREAD);
    float zoom = param(5, ZOOM);
    float k = param(5, WAVENUMBER);
    float disp = param(6, DISPLACEMENT);
    vec2 sway = vec2(param(8, SWAY), param(9, SWAY));

    // broad sways along X and Y, then two octaves of domain warp, each feeding on the last
    // a hit zooms in: the picture's point, in the pattern's units, shrinks towards the centre
    float kick = 1.0 + ZOOM_KICK * u_pulse;
    vec2 x = in_ndc * u_aspect / kick;
    vec2 q = u_turn * x * zoom;
    mat2 jac = u_turn * zoom;
    stage(q, jac, sway, vec2(0.9, 0.8), vec2(0.31, -0.27), u_seed[0].xy);
    stage(q, jac, vec2(disp), vec2(1.9, 1.7), vec2(0.50, -0.43), u_seed[0].zw);
    stage(q, jac, vec2(0.5 * disp), vec2(3.1, 2.9), vec2(-0.71, 0.61), u_seed[1].xy);

    mat2 grad = transpose(jac) * WAVES;  // columns: each wave's phase gradient over k
    // Linear interpolation of a phase errs by half its curvature times the squared distance to
    // the vertices; blending the vertices' tangent planes errs by as much the other way. The
    // fragment shader averages the two: it adds half the interpolated gradient at its point, so
    // each vertex sends its phase less half its tangent's reach, and the cells can be coarse.
    vec2 phase = k * (q * WAVES - 0.5 * (x * grad)) + u_phase * vec2(0.6, 0.85) + u_seed[1].zw;
    vec2 grad_len = k * vec2(length(grad[0]), length(grad[1]));  // radians per unit
    // band-limiting: a wave fades out from a 10 px period to 5 px; the glint, a narrow lobe on
    // each fold, from 20 px to 10 px
    vec2 cycles_per_px = grad_len / (6.2832 * u_px * kick);
    float finest = max(cycles_per_px.x, cycles_per_px.y);
    // slow envelopes let each wave come and go, so the ribbons change character across the sheet
    vec2 envelope = 0.6 + 0.4 * sin(q * mat2(0.9, -0.4, 0.3, 0.8) + u_phase * vec2(0.17, -0.11)
                                    + u_seed[2].xy);
    v_wave = vec4(phase, WEIGHTS * envelope * (1.0 - smoothstep(0.1, 0.2, cycles_per_px)));
    v_grad = vec4(grad[0], grad[1]);
    // a slow field spreads the hue across the picture; the fragment shader, along the bands
    float drift = sin(dot(q, vec2(0.8, 0.6)) + u_phase * 0.13 + u_seed[2].z);
    v_point = vec4(0.5 * k * x, hue + spread * drift, 1.0 - smoothstep(0.05, 0.1, finest));
    float chroma = sat * (1.0 - abs(2.0 * light - 1.0));  // as hsl2rgb() works it out
    // scaling both scales the colour: a hit brightens the sheet without washing out its hues
    float surge = 1.0 + SURGE * u_pulse;
    v_style = vec4(chroma * surge, light * surge, spread * BAND_SPREAD, ACCENT_HUE * param(3, COLOR_MIX));
    gl_Position = vec4(in_ndc, 0.0, 1.0);
}
