in vec2 v_p;
flat in vec4 v_segment;
flat in vec3 v_style;

out vec4 frag;

const vec3 CORE = vec3(0.95, 0.97, 1.0);
const vec3 GLOW = vec3(0.45, 0.55, 1.0);

void main() {
    vec2 pa = v_p - v_segment.xy, ba = v_segment.zw - v_segment.xy;
    float h = clamp(dot(pa, ba) / max(dot(ba, ba), 1e-9), 0.0, 1.0);
    float d = length(pa - ba * h);             // world units from the channel
    float px = d * v_style.z;
    float core = clamp(v_style.x + 0.5 - px, 0.0, 1.0) * min(v_style.x * 1.5, 1.0);
    float near = d * 60.0, far = d * 16.0;
    float edge = clamp(1.0 - d / 0.07, 0.0, 1.0);
    float glow = (1.2 / (1.0 + near * near) + 0.45 / (1.0 + far * far)) * edge * edge;
    vec3 c = (CORE * core * 1.6 + GLOW * glow) * v_style.y;
    frag = vec4(linear_to_srgb(tonemap(c)), 0.0);
}
