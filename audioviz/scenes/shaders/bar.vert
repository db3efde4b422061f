// VIZ-BAR: one instanced unit box per bar, drawn outermost first so edges blend over what is behind.
uniform mat4 u_view_proj;
uniform vec3 u_eye;
uniform float u_mirror;      // 1: the bars, -1: their reflection in the floor
uniform float u_px_world;    // world units per pixel at unit distance from the eye

in vec3 in_pos;              // unit box: x, z in [-0.5, 0.5], y in [0, 1]
in vec2 in_uv;               // corner within its face
in vec3 in_normal;
in vec3 in_tu;               // face axes: u grows along in_tu, v along in_tv
in vec3 in_tv;

out vec3 v_world;
out vec2 v_uv;
flat out vec3 v_normal;
flat out vec3 v_tu;
flat out vec3 v_tv;
flat out int v_bar;
flat out float v_value;

const int ORDER[10] = int[10](0, 9, 1, 8, 2, 7, 3, 6, 4, 5);
const float SPACING = 1.0;
const float WIDTH = 0.68;

float bar_height(float value) { return 0.12 + 3.2 * value; }

void main() {
    int bar = ORDER[gl_InstanceID];
    float value = clamp(u_params[bar], 0.0, 1.0);
    vec3 scale = vec3(WIDTH, bar_height(value), WIDTH);
    vec3 p = in_pos * scale + vec3((float(bar) - 4.5) * SPACING, 0.0, 0.0);
    // Push silhouette edges out by ~1.5 px so the fragment shader can fade them to exact
    // coverage; edges shared with a visible face stay put.
    float margin = 1.5 * u_px_world * distance(u_eye, p);
    vec3 eye = vec3(u_eye.x, u_eye.y * u_mirror, u_eye.z);
    vec3 toward = eye - p;
    vec2 uv = in_uv;
    if (in_uv.x < 0.5 && dot(-in_tu, toward) < 0.0) { p -= in_tu * margin; uv.x -= margin / dot(abs(in_tu), scale); }
    if (in_uv.x > 0.5 && dot(in_tu, toward) < 0.0) { p += in_tu * margin; uv.x += margin / dot(abs(in_tu), scale); }
    if (in_uv.y < 0.5 && dot(-in_tv, toward) < 0.0) { p -= in_tv * margin; uv.y -= margin / dot(abs(in_tv), scale); }
    if (in_uv.y > 0.5 && dot(in_tv, toward) < 0.0) { p += in_tv * margin; uv.y += margin / dot(abs(in_tv), scale); }
    p.y *= u_mirror;
    v_world = p;
    v_uv = uv;
    v_normal = in_normal;
    v_tu = in_tu;
    v_tv = in_tv;
    v_bar = bar;
    v_value = value;
    gl_Position = u_view_proj * vec4(p, 1.0);
}
