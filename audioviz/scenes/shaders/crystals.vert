// The crystals' facets, flat coloured (see crystals.py). Everything a pixel needs arrives as
// flat varyings: the facet's colour and, per edge, the colour of the facet beyond it.
in vec4 in_pos;      // xyz: position in the group's unscaled coordinates; w: group index
in vec3 in_centre;   // the crystal's centre, same coordinates
in vec4 in_plane;    // this facet's plane: unit normal, offset
in vec4 in_edge;     // signed distance inside each of the facet's edges (1e3: no 4th edge)
in vec4 in_across0;  // planes of the facets across edges 0..3
in vec4 in_across1;
in vec4 in_across2;
in vec4 in_across3;

out vec4 v_edge;
out float v_shade;
flat out vec3 v_colour;
flat out vec3 v_across[4];  // on an outline: this facet's own colour (no blending)
flat out vec4 v_crease;     // 1 on edges between two facets that face the eye, 0 on outlines

void main() {
    int g = int(in_pos.w + 0.5);
    vec3 eye = local_eye(g);
    // one view direction per crystal keeps each facet one colour, so neighbours agree at edges
    vec3 v = normalize(u_eye - world_position(in_centre, g));
    vec3 tint = sky_tint();
    v_colour = facet_colour(u_rot * in_plane.xyz, v, tint);
    vec4 across[4] = vec4[4](in_across0, in_across1, in_across2, in_across3);
    // a neighbour turning towards the eye fades in over a few degrees: no edge pops
    float to_cos = 1.0 / distance(eye, in_centre);  // eye-to-plane distance -> about a cosine
    for (int i = 0; i < 4; i++) {
        float seen = smoothstep(0.0, 0.1, (dot(across[i].xyz, eye) - across[i].w) * to_cos);
        v_across[i] = mix(v_colour, facet_colour(u_rot * across[i].xyz, v, tint), seen);
        v_crease[i] = seen;
    }
    v_edge = in_edge;
    v_shade = root_shade(in_pos.xyz);
    gl_Position = u_view_proj * vec4(world_position(in_pos.xyz, g), 1.0);
}
