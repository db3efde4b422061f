in vec2 v_swirl;
in float v_edge;
in vec4 v_colour;

out vec4 frag;

void main() {
    // spiralling bands of dust and cloud; they crowd together at the silhouette, where they
    // fade to their mean before they alias
    float a = v_swirl.x * 5.0 + 1.8 * sin(v_swirl.x * 2.0 - v_swirl.y * 9.0);
    float fade = clamp(2.0 - fwidth(a) * 1.2, 0.0, 1.0);
    float streak = 0.5 + 0.5 * sin(a) * fade;
    float cover = clamp(v_edge - 0.5, 0.0, 1.0);
    vec3 c = v_colour.rgb * (0.7 + 0.6 * streak);
    frag = finish(c, gl_FragCoord.xy) * (v_colour.a * cover * (0.82 + 0.18 * streak));
}
