in vec2 v_local;
flat in vec4 v_kernel;
flat in vec2 v_shift;

out vec4 frag;

void main() {
    // compact kernel (1 - q)^3: smooth, zero at the ellipse's edge, with an exact gradient
    float q = dot(v_local, v_local);
    float m = max(1.0 - q, 0.0);
    float w = v_kernel.x;
    vec2 grad = -6.0 * m * m * w * v_local * v_kernel.yz;  // d/dp, in field units per world unit
    // and the kernel a little way towards the light, for self-shadowing
    vec2 l = v_local + v_shift;
    float ms = max(1.0 - dot(l, l), 0.0);
    frag = vec4(m * m * m * w, grad, ms * ms * ms * w);
}
