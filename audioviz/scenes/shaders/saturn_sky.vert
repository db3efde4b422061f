// VIZ-SATURN's sky: a deep gradient with faint nebulae, evaluated at the corners of a coarse
// screen grid and interpolated. The nebulae are low-frequency by design, so the grid loses
// nothing, and per pixel the noise would cost more than the rest of the frame.
uniform vec2 u_fit;       // NDC -> sky units: the narrower side spans [-1, 1]
uniform vec2 u_offset;    // seeded placement of the nebulae
uniform vec3 u_nebula_a;  // the two nebula tints, linear
uniform vec3 u_nebula_b;

in vec2 in_ndc;

out vec3 v_colour;

float value_noise(vec2 p) {
    vec2 i = floor(p), f = fract(p);
    vec2 u = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash12(i), hash12(i + vec2(1.0, 0.0)), u.x),
               mix(hash12(i + vec2(0.0, 1.0)), hash12(i + vec2(1.0, 1.0)), u.x), u.y);
}

float fbm(vec2 p) {
    float sum = 0.0, amp = 0.5;
    for (int i = 0; i < 4; i++) {
        sum += amp * value_noise(p);
        p = mat2(1.6, 1.2, -1.2, 1.6) * p + 7.3;
        amp *= 0.5;
    }
    return sum / 0.9375;
}

void main() {
    vec2 p = in_ndc * u_fit;
    // a slow drift: the sky is alive, but never faster than the eye can follow
    vec2 drift = vec2(0.004, 0.0015) * u_time;
    float a = fbm(p * 1.1 + u_offset + drift);
    float b = fbm(p * 1.7 - u_offset.yx - drift);
    vec3 c = mix(vec3(0.0020, 0.0024, 0.0070), vec3(0.0009, 0.0010, 0.0032), p.y * 0.25 + 0.5);
    c += u_nebula_a * smoothstep(0.42, 0.85, a);
    c += u_nebula_b * smoothstep(0.50, 0.90, b) * (0.6 + 0.4 * a);
    v_colour = c;
    gl_Position = vec4(in_ndc, 0.0, 1.0);
}
