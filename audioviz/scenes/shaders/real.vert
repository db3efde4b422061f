// VIZ-REAL's spheres, drawn far to near: each is a camera-facing quad just large enough for its
// silhouette, which the fragment shader ray-traces. The fragment shader reads no uniforms
// (llvmpipe reloads them for every pixel): what it needs per sphere arrives as flat varyings.
uniform vec3 u_eye;
uniform vec3 u_right;
uniform vec3 u_up;
uniform vec3 u_forward;
uniform vec2 u_tan;             // tangent of the half field of view, across and up
uniform float u_px;             // radians per pixel at the centre of the picture
uniform vec3 u_light;           // unit vector towards the light
uniform vec2 u_radius_range;    // sphere_radius 0 -> .x, 1 -> .y
uniform vec2 u_distance_range;  // sphere_distance 0 -> .x, 1 -> .y
uniform vec3 u_dirs[26];        // where each sphere sits, as a unit direction from the origin
// per sphere, the spheres that may shadow or crowd it, chosen once on the CPU; -1 pads
uniform int u_neighbours[26 * NEIGHBOURS];

in int in_sphere;

out vec3 v_ray;                 // from the eye through this pixel, not normalised
flat out vec3 v_eye;            // the eye, from the sphere's centre
flat out float v_radius;
flat out float v_px;
flat out vec3 v_light;
flat out vec3 v_albedo;
flat out vec4 v_occluders[NEIGHBOURS];  // their centres from this sphere's, and how far along the light
flat out vec3 v_crowd;          // the other spheres' occlusion, lumped: sum of o / |o|^3
flat out vec3 v_ambient[6];     // the sky seen by a surface facing +x, -x, +y, -y, +z, -z

const float BOUNCE = 0.16;      // how much a hit swells the cluster, a share of its size

// The sky's light on a surface facing `axis`: the sky straight ahead and at 50 degrees around
// it, weighted by the cosine, stand in for the hemisphere's integral.
vec3 sky_light(vec3 axis, vec3 u, vec3 v, vec3 base) {
    vec3 sum = sky(axis, base, u_light);
    for (int i = 0; i < 4; i++) {
        vec3 side = (i < 2 ? u : v) * (i % 2 == 0 ? 1.0 : -1.0);
        sum += 0.64 * sky(normalize(axis * 0.64 + side * 0.77), base, u_light);
    }
    return sum / 3.56;
}

void main() {
    // clamped: beyond their ranges the spheres could intersect, and the sorting would fail; a
    // hit swells spheres and gaps alike, so they still never touch
    float bounce = 1.0 + BOUNCE * u_pulse;
    float radius = mix(u_radius_range.x, u_radius_range.y, clamp(u_params[6], 0.0, 1.0)) * bounce;
    float distance = mix(u_distance_range.x, u_distance_range.y, clamp(u_params[7], 0.0, 1.0)) * bounce;
    vec3 centre = u_dirs[in_sphere] * distance;
    // the spheres off the list only dim the sky a little, each from about its centre's direction
    vec3 crowd = vec3(0.0);
    for (int j = 0; j < 26; j++) {
        vec3 o = u_dirs[j] * distance - centre;
        if (j != in_sphere) crowd += o * pow(dot(o, o), -1.5);
    }
    for (int k = 0; k < NEIGHBOURS; k++) {
        int j = u_neighbours[in_sphere * NEIGHBOURS + k];
        // a missing neighbour sits far behind, where it can neither shadow nor occlude
        vec3 o = j < 0 ? -1e3 * u_light : u_dirs[j] * distance - centre;
        v_occluders[k] = vec4(o, dot(o, u_light));
        if (j >= 0) crowd -= o * pow(dot(o, o), -1.5);
    }
    v_crowd = crowd;
    vec3 base = sky_colour();
    for (int a = 0; a < 3; a++) {
        vec3 axis = vec3(a == 0, a == 1, a == 2);
        vec3 u = axis.yzx;
        vec3 v = axis.zxy;
        v_ambient[2 * a] = sky_light(axis, u, v, base);
        v_ambient[2 * a + 1] = sky_light(-axis, u, v, base);
    }
    v_eye = u_eye - centre;
    v_radius = radius;
    v_px = u_px;
    v_light = u_light;
    v_albedo = sphere_colour();

    vec3 axis = -v_eye;
    float d = length(axis);
    axis /= d;
    // the cone of rays that touch the sphere crosses the quad's plane in this circle; 2 px more
    // leave room for the fragment shader to fade the silhouette
    float half_size = radius * d * inversesqrt(d * d - radius * radius) + 2.0 * u_px * d;
    vec3 s = normalize(cross(axis, u_up));
    vec3 t = cross(s, axis);
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
    v_ray = centre + (corner.x * s + corner.y * t) * half_size - u_eye;
    // depth is unused: the spheres never intersect and arrive sorted
    gl_Position = vec4(dot(v_ray, u_right) / u_tan.x, dot(v_ray, u_up) / u_tan.y, 0.0, dot(v_ray, u_forward));
}
