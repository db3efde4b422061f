in vec2 v_local;
flat in vec4 v_colour;
flat in float v_half;

out vec4 frag;

void main() {
    // coverage across (a ridge at least a pixel wide), brightest at the head, fading up the tail
    float across = clamp(max(v_half, 0.5) + 0.5 - abs(v_local.x), 0.0, 1.0);
    float t = v_local.y;
    float along = t * t * (1.0 - t) * 6.75;
    frag = finish(v_colour.rgb, gl_FragCoord.xy) * (v_colour.a * across * along);
}
