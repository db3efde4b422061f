in vec3 v_colour;

out vec4 frag;

void main() {
    frag = finish(v_colour, gl_FragCoord.xy);
}
