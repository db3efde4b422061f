in vec3 v_colour;
in float v_alpha;

out vec4 frag;

void main() {
    vec2 d = gl_PointCoord * 2.0 - 1.0;
    // a smooth radial falloff to zero at the sprite's edge: round and anti-aliased at any size
    float f = clamp(1.0 - dot(d, d), 0.0, 1.0);
    f *= f;
    frag = vec4(v_colour, v_alpha) * f;
}
