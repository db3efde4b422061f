in vec3 v_colour;
in float v_core;

out vec4 frag;

void main() {
    vec2 d = gl_PointCoord * 2.0 - 1.0;
    float q = dot(d, d);
    // a round core with a smooth falloff to zero at the sprite's edge
    float halo = clamp(1.0 - q, 0.0, 1.0);
    float core = 1.0 / (1.0 + q / (v_core * v_core));
    frag = vec4(v_colour * (core * halo * halo), 0.0);
}
