// VIZ-REAL in one instanced draw: instance 0 is the sky (a full-screen quad), the others are the
// spheres, far to near, each a camera-facing quad just large enough for its silhouette.
uniform vec3 u_eye;
uniform vec3 u_right;
uniform vec3 u_up;
uniform vec3 u_forward;
uniform vec2 u_tan;             // tangent of the half field of view, across and up
uniform float u_px;             // radians per pixel at the centre of the picture
uniform vec2 u_radius_range;    // sphere_radius 0 -> .x, 1 -> .y
uniform vec2 u_distance_range;  // sphere_distance 0 -> .x, 1 -> .y
uniform vec3 u_dirs[26];        // where each sphere sits, as a unit direction from the origin

in int in_sphere;               // -1: the sky

flat out int v_sphere;
flat out vec3 v_centre;
flat out float v_radius;
flat out float v_distance;

void main() {
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
    v_sphere = in_sphere;
    v_radius = mix(u_radius_range.x, u_radius_range.y, u_params[6]);
    v_distance = mix(u_distance_range.x, u_distance_range.y, u_params[7]);
    if (in_sphere < 0) {
        gl_Position = vec4(corner, 0.0, 1.0);
        return;
    }
    v_centre = u_dirs[in_sphere] * v_distance;
    vec3 axis = v_centre - u_eye;
    float d = length(axis);
    axis /= d;
    // the cone of rays that touch the sphere crosses the quad's plane in this circle; 2 px more
    // leave room for the fragment shader to fade the silhouette
    float half_size = v_radius * d * inversesqrt(d * d - v_radius * v_radius) + 2.0 * u_px * d;
    vec3 s = normalize(cross(axis, u_up));
    vec3 t = cross(s, axis);
    vec3 q = v_centre + (corner.x * s + corner.y * t) * half_size - u_eye;
    // depth is unused: the spheres never intersect and arrive sorted
    gl_Position = vec4(dot(q, u_right) / u_tan.x, dot(q, u_up) / u_tan.y, 0.0, dot(q, u_forward));
}
