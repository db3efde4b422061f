// Shared by VIZ-REAL's shaders (real.py prepends it): the parameters' colours and the sky.

const int NEIGHBOURS = 6;  // occluders considered per sphere
const vec3 SUN = vec3(1.0, 0.86, 0.70);
const float SKY_SURGE = 0.4;  // how much brighter the sky is at the height of a hit

// Colour parameters i..i+2 as a linear colour, within a range that stays pleasant at both ends.
vec3 param_colour(int i, vec3 lo, vec3 hi) {
    vec3 p = clamp(vec3(u_params[i], u_params[i + 1], u_params[i + 2]), 0.0, 1.0);
    return srgb_to_linear(mix(lo, hi, p));
}

vec3 sphere_colour() { return param_colour(0, vec3(0.22, 0.22, 0.23), vec3(0.88, 0.86, 0.83)); }
// The sky fills most of the picture: a little less saturated, so no corner of the range is garish.
// A hit brightens it, and with it the light it sheds on the spheres.
vec3 sky_colour() {
    vec3 c = param_colour(3, vec3(0.20, 0.23, 0.32), vec3(0.86, 0.85, 0.82));
    return mix(c, vec3(dot(c, vec3(0.2126, 0.7152, 0.0722))), 0.3) * (1.0 + SKY_SURGE * u_pulse);
}

// Deeper zenith, darker nadir, a band of haze at the horizon and a glow around the light; a few
// broad swells (low-order polynomials in the direction, cheaper than noise) are fixed in the
// world so the camera's revolution shows. Smooth everywhere: the sky pass interpolates it.
vec3 sky(vec3 dir, vec3 base, vec3 light) {
    float y = dir.y;
    vec3 c = base * mix(0.3, 0.6, y * 0.5 + 0.5) + (base * 0.8 + 0.012) / (1.0 + 14.0 * y * y);
    float swell = dir.x * dir.z * 1.4 + dir.x * 0.5 - dir.y * dir.z * 0.9
                + (dir.x * dir.x - dir.z * dir.z) * 0.6 + dir.x * dir.y * dir.z * 1.6;
    c *= 1.0 + swell * vec3(0.45, 0.38, 0.3);  // brighter swells are warmer
    float mu = max(dot(dir, light), 0.0);
    float m4 = mu * mu * mu * mu;
    float m32 = m4 * m4 * m4 * m4 * m4 * m4 * m4 * m4;
    return c + (0.5 * base + SUN) * (0.1 * m4 + 0.45 * m32);
}
