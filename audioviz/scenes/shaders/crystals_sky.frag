in vec3 v_colour;  // display-ready: tone-mapped and encoded per vertex
out vec4 frag;

void main() {
    // interleaved-gradient noise of half a code value, so the dark gradient does not band
    float n = fract(52.9829189 * fract(dot(gl_FragCoord.xy, vec2(0.06711056, 0.00583715))));
    frag = vec4(v_colour + (n - 0.5) / 255.0, 1.0);
}
