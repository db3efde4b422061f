// VIZ-SATURN's stars: one point sprite each, seeded once. Each twinkles on a period of several
// seconds, so nothing flickers from one frame to the next.
uniform float u_px_scale;  // sprite size multiplier: the picture's narrower side / 720

in vec2 in_pos;            // NDC
in vec4 in_star;           // brightness, colour temperature (0 warm .. 1 blue), twinkle rate (rad/s), phase

out vec3 v_colour;         // display-space, premultiplied
out float v_core;          // the sprite's core radius as a fraction of its half-size

void main() {
    float bright = in_star.x;
    float twinkle = 0.72 + 0.28 * sin(in_star.z * u_time + in_star.w);
    vec3 tint = mix(vec3(1.0, 0.78, 0.58), vec3(0.70, 0.82, 1.0), in_star.y);
    // a footprint of at least 2 px keeps faint stars from shimmering on the pixel grid;
    // bright ones grow a faint halo
    float size = (2.2 + 3.5 * bright * bright) * u_px_scale + 1.0;
    v_core = 1.4 * u_px_scale / size;
    v_colour = linear_to_srgb(tint * bright * twinkle) * 0.9;
    gl_PointSize = size;
    gl_Position = vec4(in_pos, 0.0, 1.0);
}
