// Soft contact shadow under each bar: a quad on the floor, wider for taller bars.
uniform mat4 u_view_proj;
in vec2 in_corner;  // [-1, 1]^2
out vec2 v_local;
flat out float v_reach;

const float SPACING = 1.0;
const float WIDTH = 0.68;

// as bar.vert's: a hit lifts the bars, and their shadows reach further
float bar_height(float value) {
    float h = 0.12 + 3.2 * value;
    return h + u_pulse * (0.4 + 0.2 * h);
}

void main() {
    float h = bar_height(clamp(u_params[gl_InstanceID], 0.0, 1.0));
    v_reach = 0.22 + 0.3 * h;
    v_local = in_corner * (0.5 * WIDTH + v_reach);
    vec3 p = vec3((float(gl_InstanceID) - 4.5) * SPACING + v_local.x, 0.0, v_local.y);
    gl_Position = u_view_proj * vec4(p, 1.0);
}
