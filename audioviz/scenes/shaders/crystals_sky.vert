// The sky behind the crystals, coloured per vertex of a coarse screen grid: a glow behind the
// centre fading to deep corners, the hue leaning a little warmer at the top.
in vec2 in_ndc;
out vec3 v_colour;

const float SURGE = 2.5;  // how much a hit brightens the glow behind the crystals, at its centre

void main() {
    float hue = u_params[3];
    vec2 q = in_ndc * u_resolution / min(u_resolution.x, u_resolution.y);  // 1 = the narrower edge
    float glow = 1.0 / (1.0 + 1.1 * dot(q, q));
    vec3 deep = srgb_to_linear(hsl2rgb(vec3(hue + 0.04 * q.y, 0.55, 0.05)));
    vec3 mid = srgb_to_linear(hsl2rgb(vec3(hue - 0.03, 0.5, 0.3)));
    vec3 c = mix(deep, mid, glow * glow * (1.4 - 0.4 * glow)) * (1.0 + 0.15 * q.y);
    c *= 1.0 + SURGE * u_pulse * glow;
    v_colour = linear_to_srgb(tonemap(c));
    gl_Position = vec4(in_ndc, 0.0, 1.0);
}
