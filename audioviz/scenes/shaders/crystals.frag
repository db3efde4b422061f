in vec4 v_edge;
in float v_shade;
flat in vec3 v_colour;
flat in vec3 v_across[4];
flat in vec4 v_crease;

out vec4 frag;

const float GLINT = 0.15;

void main() {
    // pixels from each edge; within half a pixel, share the pixel with the facet beyond
    vec4 d = v_edge / max(fwidth(v_edge), vec4(1e-6));
    vec4 share = clamp(0.5 - d, 0.0, 0.5);
    vec3 c = v_colour;
    c = mix(c, v_across[0], share.x);
    c = mix(c, v_across[1], share.y);
    c = mix(c, v_across[2], share.z);
    c = mix(c, v_across[3], share.w);
    // a hairline of light along the creases, as on cut glass: one pixel wide, centred on the edge
    vec4 line = v_crease * clamp(1.0 - d, 0.0, 1.0);
    c += GLINT * max(max(line.x, line.y), max(line.z, line.w));
    frag = finish(c * v_shade, gl_FragCoord.xy);
}
