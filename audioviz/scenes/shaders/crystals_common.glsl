// Shared by the crystal passes (crystals.py prepends it to crystals.* and crystals_edge.*):
// where a vertex of a group lies, which facets face the eye, and a facet's colour.
uniform mat4 u_view_proj;
uniform mat3 u_rot;        // the set's rotation, set space -> world
uniform vec3 u_eye;        // the camera, in world space (it looks at the origin along -z)
uniform vec3 u_roots[6];   // where each group grows from, in set space
uniform vec2 u_size;       // a group's scale at size 0 and 1

const vec3 KEY = vec3(-0.4924, 0.6565, 0.5717);  // normalize(-0.6, 0.8, 0.7): upper left, front
const float ROOT_SHADE = 0.5;                   // how far from its root a crystal stays in shadow
const float KICK = 0.28;                        // a hit shoots every group out by this share
const float FLARE = 1.0;                        // and lights every facet up by this share

float group_scale(int g) {
    return mix(u_size.x, u_size.y, clamp(u_params[4 + g], 0.0, 1.0)) * (1.0 + KICK * u_pulse);
}

// A point of group g, given in the group's own unscaled coordinates, in world space.
vec3 world_position(vec3 p, int g) { return u_rot * (u_roots[g] + group_scale(g) * p); }

// The eye in group g's own coordinates, where the facets' planes are stored.
vec3 local_eye(int g) { return (transpose(u_rot) * u_eye - u_roots[g]) / group_scale(g); }

bool faces_eye(vec4 plane, vec3 eye) { return dot(plane.xyz, eye) > plane.w; }

// Crowded and out of the light near the root: the crystals' crossings there hardly show.
float root_shade(vec3 p) {
    return mix(0.2, 1.0, smoothstep(0.0, ROOT_SHADE, length(p)));
}

vec3 sky_tint() { return srgb_to_linear(hsl2rgb(vec3(u_params[3], 0.65, 0.6))); }

// A facet with world normal n seen along v (towards the eye): MeshNormalMaterial's colour,
// softened towards a pale grey, lit by a key light, a specular flash and a rim of sky.
vec3 facet_colour(vec3 n, vec3 v, vec3 tint) {
    vec3 base = srgb_to_linear(mix(n * 0.5 + 0.5, vec3(0.75), 0.15));
    float diffuse = 0.5 + 0.5 * dot(n, KEY);  // wrapped: facets turned away still read
    float spec = max(dot(n, normalize(KEY + v)), 0.0);
    spec *= spec; spec *= spec; spec *= spec; spec *= spec; spec *= spec;  // ^32
    float grazing = 1.0 - max(dot(n, v), 0.0);
    grazing *= grazing; grazing *= grazing;
    vec3 c = base * (0.22 + 0.78 * diffuse) + 0.8 * spec + grazing * (0.6 * tint + 0.08);
    return c * (1.0 + FLARE * u_pulse);
}
