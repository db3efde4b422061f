// VIZ-SATURN's ring particles: one point sprite each, placed on the CPU once (band, radius
// within it, angle, bobbing phase) and moved here. The CPU splits them each frame into those
// beyond the planet's centre, drawn before the planet, and the rest, drawn after it, so the
// planet hides exactly the ones behind it, anti-aliased silhouette included, without depth.
uniform float u_angle[BANDS];  // each band's rotation so far, radians (integrated on the CPU)
uniform float u_oscillation;   // how far particles bob out of the plane, world units
uniform float u_size;          // particle diameter, world units
uniform float u_focal;         // pixels per world unit at unit distance
uniform float u_radius;        // the planet's, for its shadow on the rings
uniform vec3 u_colour[BANDS];  // each band's colour, linear

in vec4 in_ring;   // band, radius within the band (0..1), angle (rad), brightness
in vec4 in_wave;   // bobbing phase (rad), rate (rad/s), amplitude (0..1), size factor

out vec3 v_colour; // display-space, premultiplied
out float v_alpha;

const float MIN_PX = 1.8;       // the smallest footprint that stays smooth on the pixel grid
const float THICKNESS = 0.012;  // the rings' own thickness when nothing bobs, world units
const float FLARE = 3.0;        // a hit lights the particles up by this share
const float SWELL = 0.8;        // and swells them by this share
const float SPREAD = 0.15;      // while the rings spread out by this share of their radius

void main() {
    int k = int(in_ring.x);
    float angle = in_ring.z + u_angle[k];
    float r = mix(u_band[k].x, u_band[k].y, in_ring.y) * (1.0 + SPREAD * u_pulse);
    float h = (THICKNESS + u_oscillation * in_wave.z) * sin(in_wave.y * u_time + in_wave.x);
    vec3 rel = u_model * vec3(r * cos(angle), h, -r * sin(angle));

    // soft shadow of the planet: a cylinder along the light, behind the planet
    float along = dot(rel, u_light);
    float across = length(rel - along * u_light);
    float lit = max(smoothstep(-0.3, 0.0, along), smoothstep(0.85, 1.1, across / u_radius));
    vec3 c = u_colour[k] * in_ring.w * (0.06 + 0.94 * lit) * (1.0 + FLARE * u_pulse);

    vec3 pos = u_centre + rel;
    float px = u_size * in_wave.w * u_focal / -pos.z * (1.0 + SWELL * u_pulse);
    // below the minimum footprint a particle is drawn at that size and dims with its area instead
    float energy = min(px * px / (MIN_PX * MIN_PX), 1.0);
    float size = max(px, MIN_PX) + 1.0;
    v_colour = linear_to_srgb(tonemap(c)) * energy;
    v_alpha = 0.85 * energy;
    gl_PointSize = size;
    gl_Position = to_clip(pos);
}
