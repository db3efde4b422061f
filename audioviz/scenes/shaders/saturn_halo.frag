in vec2 v_px;
flat in vec2 v_centre;
flat in float v_inv_r;
flat in vec2 v_sun;
flat in vec3 v_colour;

out vec4 frag;

void main() {
    vec2 d = (v_px - v_centre) * v_inv_r;  // in disc radii
    float rho = length(d);
    float x = max(rho - 1.0, 0.0);
    float glow = smoothstep(0.7, 1.0, rho) / (1.0 + 70.0 * x * x) * (1.0 - smoothstep(1.3, 1.7, rho));
    float side = 0.25 + 0.75 * smoothstep(-0.5, 0.9, dot(d, v_sun) / max(rho, 1e-3));
    frag = vec4(v_colour * (glow * side), 0.0);  // added to what is there
}
