in vec2 v_local;
flat in vec4 v_colour;
flat in vec3 v_shade;

out vec4 frag;

void main() {
    float q = max(1.0 - dot(v_local, v_local), 0.0);
    // a billow with a soft edge, lit from the upper left
    float body = smoothstep(0.0, 0.8, q);
    float side = clamp(0.45 + 0.7 * dot(v_local, vec2(-0.55, 0.83)), 0.0, 1.0);
    frag = finish(mix(v_shade, v_colour.rgb, side), gl_FragCoord.xy) * (v_colour.a * body);
}
