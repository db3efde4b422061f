in vec2 v_local;
flat in float v_reach;
out vec4 frag;

const float WIDTH = 0.68;

void main() {
    vec2 q = abs(v_local) - 0.5 * WIDTH;
    float d = length(max(q, 0.0)) + min(max(q.x, q.y), 0.0);
    float s = clamp(1.0 - d / v_reach, 0.0, 1.0);
    frag = vec4(vec3(1.0 - 0.6 * s * s), 1.0);  // multiplied into the floor
}
