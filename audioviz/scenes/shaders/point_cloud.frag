flat in vec3 v_colour;
out vec4 frag;

void main() {
    vec2 q = gl_PointCoord * 2.0 - 1.0;
    // a smooth bump that reaches zero with zero slope at the rim: no edge to alias
    float a = max(1.0 - dot(q, q), 0.0);
    a *= a;
    a *= 0.3 + 0.7 * a;  // a brighter core inside the glow
    frag = vec4(v_colour * a, a);
}
