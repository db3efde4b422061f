noperspective in vec2 v_px;
flat in float v_length;
in float v_shade;
flat in vec3 v_colour;

out vec4 frag;

void main() {
    // distance from the edge as a segment: the ends are rounded, so corners close up
    float beyond = max(-v_px.x, v_px.x - v_length);
    float dist = length(max(vec2(beyond, v_px.y), 0.0));
    // the outline, moved out half a pixel, fades over one: stair-free without touching inside
    float cover = clamp(1.0 - dist, 0.0, 1.0);
    frag = finish(v_colour * v_shade, gl_FragCoord.xy) * cover;  // premultiplied alpha
}
