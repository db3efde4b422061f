// Shared by VIZ-SATURN's shaders (saturn.py prepends it): where the system stands, the sun,
// and the rings' layout, which both the particles and the planet (for the rings' shadow) read.
// "System" space: the planet's centre at the origin, its axis +y, the rings in the xz plane.
// "View" space: the eye at the origin looking down -z.

const int BANDS = 5;
const vec3 SUN = vec3(1.0, 0.93, 0.84);        // the sun's colour, linear

uniform mat4 u_proj;
uniform mat3 u_model;           // system -> view rotation: the axis tilt and the view's elevation
uniform vec3 u_centre;          // the planet's centre in view space
uniform vec3 u_light;           // unit vector towards the sun, view space
uniform vec3 u_light_sys;       // the same in system space
uniform vec2 u_band[BANDS];     // inner and outer radius of each ring band, world units
uniform float u_band_density[BANDS];  // how much light each band blocks, 0..1

// Pixels from view space (relative to the eye).
vec4 to_clip(vec3 view_pos) { return u_proj * vec4(view_pos, 1.0); }
vec2 to_pixels(vec4 clip) { return (clip.xy / clip.w * 0.5 + 0.5) * u_resolution; }

// How much of the sun the rings hide at distance r from the axis, in their plane.
float ring_density(float r) {
    float d = 0.0;
    for (int k = 0; k < BANDS; k++) {
        vec2 b = u_band[k];
        d += u_band_density[k] * (smoothstep(b.x - 0.04, b.x + 0.04, r) - smoothstep(b.y - 0.04, b.y + 0.04, r));
    }
    return d;
}
