// Background and floor, coloured per vertex of a coarse screen grid: the gradients are smooth,
// and interpolating them is far cheaper than evaluating them per pixel.
uniform mat3 u_cam;      // camera basis in world space: right, up, back
uniform vec2 u_tan;      // tan(fov / 2) horizontally and vertically
uniform vec3 u_eye;
uniform float u_level;   // mean of the bars' values: the glow breathes with the music

const float SURGE = 1.6; // how much the glow behind the bars and the pool of light swell on a hit

in vec2 in_ndc;
out vec3 v_colour;

void main() {
    vec3 d = u_cam * vec3(in_ndc * u_tan, -1.0);  // view ray, not normalised
    float up = d.y / length(d);
    vec3 c = mix(vec3(0.10, 0.11, 0.14), vec3(0.03, 0.04, 0.06), clamp(up * 2.2, 0.0, 1.0));
    float glow = 0.35 + 0.9 * u_level + SURGE * u_pulse;
    c += vec3(0.10, 0.06, 0.20) * glow / (1.0 + 60.0 * up * up + 0.35 * d.x * d.x);
    if (d.y < 0.0) {
        vec3 p = u_eye + d * (-u_eye.y / d.y);  // where the ray meets the floor
        float r2 = dot(p.xz, p.xz);
        // a pool of light on the stage under the bars, fading into the dark
        float pool = 0.6 + 0.6 * u_level + SURGE * u_pulse;
        vec3 floor_c = vec3(0.05, 0.055, 0.07) + vec3(0.07, 0.065, 0.09) * pool / (1.0 + 0.03 * r2);
        c = mix(c, floor_c, 1.0 / (1.0 + 0.0015 * r2));
    }
    v_colour = c;
    gl_Position = vec4(in_ndc, 0.0, 1.0);
}
