// One mesh edge per instance, as a quad outside the outline (see crystals.py): collapsed to a
// point unless the edge is on a silhouette, i.e. exactly one of its two facets faces the eye.
in vec4 in_a;        // xyz: one end, in the group's unscaled coordinates; w: group index
in vec3 in_b;        // the other end
in vec3 in_centre;   // the crystal's centre
in vec4 in_plane0;   // the planes of the two facets that meet here
in vec4 in_plane1;
in vec3 in_inside0;  // a point inside each facet: which side of the edge is in
in vec3 in_inside1;

noperspective out vec2 v_px;  // pixels along the edge from its first end, and out from it
flat out float v_length;      // the edge's length in pixels
out float v_shade;
flat out vec3 v_colour;

const float MARGIN = 1.25;  // pixels the quad reaches past the outline

vec2 to_pixels(vec4 clip) { return clip.xy / clip.w * 0.5 * u_resolution; }

void main() {
    int g = int(in_a.w + 0.5);
    vec3 eye = local_eye(g);
    bool front0 = faces_eye(in_plane0, eye);
    bool outline = front0 != faces_eye(in_plane1, eye);
    bool end = (gl_VertexID & 1) == 1;
    float outward = float(gl_VertexID >> 1);

    vec4 ca = u_view_proj * vec4(world_position(in_a.xyz, g), 1.0);
    vec4 cb = u_view_proj * vec4(world_position(in_b, g), 1.0);
    vec4 cq = u_view_proj * vec4(world_position(front0 ? in_inside0 : in_inside1, g), 1.0);
    vec2 pa = to_pixels(ca), pb = to_pixels(cb);
    vec2 dir = pb - pa;
    float len = length(dir);
    dir /= max(len, 1e-6);
    vec2 normal = vec2(-dir.y, dir.x);
    normal *= dot(normal, to_pixels(cq) - pa) > 0.0 ? -1.0 : 1.0;  // away from the facet

    vec2 p = (end ? pb + dir * MARGIN : pa - dir * MARGIN) + normal * outward * MARGIN;
    v_px = vec2(end ? len + MARGIN : -MARGIN, outward * MARGIN);
    v_length = len;
    vec3 v = normalize(u_eye - world_position(in_centre, g));
    v_colour = facet_colour(u_rot * (front0 ? in_plane0.xyz : in_plane1.xyz), v, sky_tint());
    v_shade = root_shade(end ? in_b : in_a.xyz);
    vec4 c = end ? cb : ca;
    gl_Position = outline ? vec4(p / (0.5 * u_resolution) * c.w, c.z, c.w) : vec4(0.0, 0.0, 0.0, 1.0);
}
