// VIZ-SATURN's atmosphere: a soft glow around the planet's disc, brighter towards the sun,
// drawn under the planet so the facets cover its inner part (and it fills their valleys).
uniform float u_radius;    // the glow's inner edge, world units
uniform float u_focal;     // pixels per world unit at unit distance
uniform vec3 u_glow;       // the glow's colour, display space

out vec2 v_px;             // this corner in pixels
flat out vec2 v_centre;    // the planet's centre in pixels
flat out float v_inv_r;    // 1 / the disc's radius in pixels
flat out vec2 v_sun;       // unit direction towards the sun on screen
flat out vec3 v_colour;

const float EXTENT = 1.7;  // the quad's half-size, in disc radii
const float FLARE = 3.0;   // a hit brightens the atmosphere's glow by this share

void main() {
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
    float dist = length(u_centre);
    float r_px = u_focal * u_radius / sqrt(max(dist * dist - u_radius * u_radius, 1e-3));
    v_centre = to_pixels(to_clip(u_centre));
    v_inv_r = 1.0 / r_px;
    v_px = v_centre + corner * EXTENT * r_px;
    v_sun = normalize(u_light.xy + vec2(1e-4));
    v_colour = u_glow * (1.0 + FLARE * u_pulse);
    gl_Position = vec4(v_px / u_resolution * 2.0 - 1.0, 0.0, 1.0);
}
