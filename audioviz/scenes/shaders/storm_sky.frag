in vec3 v_sky;
in vec3 v_other;
in float v_edge;

out vec4 frag;

void main() {
    vec3 c = mix(v_sky, v_other, clamp(v_edge + 0.5, 0.0, 1.0));
    // a code value of noise (the R2 sequence: one dot product), so dark gradients do not band
    float n = fract(dot(gl_FragCoord.xy, vec2(0.7548776662, 0.5698402910)));
    frag = vec4(c + (n - 0.5) / 255.0, 1.0);
}
