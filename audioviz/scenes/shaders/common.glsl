// Shared by every built-in scene: colour, hashing and output helpers.

const float PI = 3.14159265359;

vec3 hsl2rgb(vec3 hsl) {
    vec3 rgb = clamp(abs(mod(hsl.x * 6.0 + vec3(0.0, 4.0, 2.0), 6.0) - 3.0) - 1.0, 0.0, 1.0);
    return hsl.z + hsl.y * (rgb - 0.5) * (1.0 - abs(2.0 * hsl.z - 1.0));
}

// Gamma 2.0 instead of the sRGB curve: indistinguishable after tone mapping, and pow() costs
// more than the rest of a simple fragment shader on a software rasteriser.
vec3 srgb_to_linear(vec3 c) { return c * c; }
vec3 linear_to_srgb(vec3 c) { return sqrt(max(c, 0.0)); }

float hash12(vec2 p) {
    vec3 p3 = fract(vec3(p.xyx) * 0.1031);
    p3 += dot(p3, p3.yzx + 33.33);
    return fract((p3.x + p3.y) * p3.z);
}


// Smooth filmic curve: highlights roll off instead of clipping to flat white.
vec3 tonemap(vec3 x) {
    return clamp((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0);
}

// Linear colour -> 8-bit-ready sRGB with a little noise, so gradients do not band after encoding.
vec4 finish(vec3 linear_rgb, vec2 frag_coord) {
    vec3 c = linear_to_srgb(tonemap(linear_rgb));
    c += (hash12(frag_coord) - 0.5) / 255.0;
    return vec4(c, 1.0);
}
