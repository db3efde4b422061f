// VIZ-BAR: one instanced unit box per bar, drawn outermost first so edges blend over what is
// behind. Compiled twice: as is for the bars, with MIRROR defined for their floor reflection.
// Faces are flat, so lighting is done here, per vertex, for the face and for its four
// neighbours (whose colours the fragment shader blends in to anti-alias the inner edges);
// the fragment shader reads no uniforms, which are slow per pixel on a software rasteriser.
uniform mat4 u_view_proj;
uniform vec3 u_eye;
uniform float u_px_world;    // world units per pixel at unit distance from the eye
uniform float u_stretch;     // bars are this much taller in frames taller than 16:9 (bar.py)

in vec3 in_pos;              // unit box: x, z in [-0.5, 0.5], y in [0, 1]
in vec2 in_uv;               // corner within its face
in vec3 in_normal;
in vec3 in_tu;               // face axes: u grows along in_tu, v along in_tv
in vec3 in_tv;

out vec2 v_uv;
out vec3 v_colour;           // this face, lit
out float v_height;          // height above the floor, unstretched
flat out vec4 v_outline;     // 1 where an edge (u=0, u=1, v=0, v=1) is on the outline
flat out vec3 v_edge[4];     // the lit colour of the face beyond each edge
flat out vec3 v_rim;

const int ORDER[10] = int[10](0, 9, 1, 8, 2, 7, 3, 6, 4, 5);
const float SPACING = 1.0;
const float WIDTH = 0.68;
const vec3 KEY = vec3(-0.4308, 0.8137, 0.3829);   // normalize(-0.45, 0.85, 0.55)
const vec3 FILL = vec3(0.6247, 0.3123, 0.7288);   // normalize(0.6, 0.3, 0.7)
const float FLARE = 0.9;     // a hit lights every face up by this much more, the cap twice over

// A bar's height, kicked up on a hit: short bars jump, tall ones less so they stay in the
// picture (bar_shadow.vert has the same).
float bar_height(float value) {
    float h = 0.12 + 3.2 * value;
    return h + u_pulse * (0.4 + 0.2 * h);
}

vec3 bar_colour(int bar, float value) {
    // a cool-to-warm sweep along the row; taller bars are more saturated and brighter
    float hue = mix(0.53, 0.97, float(bar) / 9.0);
    return srgb_to_linear(hsl2rgb(vec3(hue, mix(0.55, 0.85, value), mix(0.42, 0.58, value))));
}

vec3 lit(vec3 n, vec3 base, float value, vec3 view) {
    float diff = max(dot(n, KEY), 0.0) * 0.9 + max(dot(n, FILL), 0.0) * 0.25;
    float spec = max(dot(n, normalize(KEY + view)), 0.0);
    spec *= spec; spec *= spec; spec *= spec; spec *= spec; spec *= spec;  // ^32
    vec3 c = base * (0.18 + diff + FLARE * u_pulse) + 0.35 * spec;
    // the cap glows with the bar's level, so heights read at a glance, and flares on a hit
    return n.y > 0.5 ? c + base * (0.35 + 1.1 * value + 2.0 * FLARE * u_pulse) : c;
}

void main() {
    int bar = ORDER[gl_InstanceID];
    float value = clamp(u_params[bar], 0.0, 1.0);
    vec3 half_size = 0.5 * vec3(WIDTH, u_stretch * bar_height(value), WIDTH);
    vec3 centre = vec3((float(bar) - 4.5) * SPACING, half_size.y, 0.0);
#ifdef MIRROR
    vec3 eye = vec3(u_eye.x, -u_eye.y, u_eye.z);  // the reflection is the bars seen from below
#else
    vec3 eye = u_eye;
#endif
    // An edge is on the outline when the face beyond it turns away from the eye.
    vec3 c = eye - centre;
    float hu = dot(abs(in_tu), half_size), hv = dot(abs(in_tv), half_size);
    v_outline = vec4(dot(-in_tu, c) < hu ? 1.0 : 0.0, dot(in_tu, c) < hu ? 1.0 : 0.0,
                     dot(-in_tv, c) < hv ? 1.0 : 0.0, dot(in_tv, c) < hv ? 1.0 : 0.0);
    vec3 p = centre + (in_pos - vec3(0.0, 0.5, 0.0)) * 2.0 * half_size;
    // Push outline edges out by ~1.5 px so the fragment shader can fade them to true coverage.
    float margin = 1.5 * u_px_world * distance(eye, p);
    vec2 side = in_uv * 2.0 - 1.0;  // -1 or 1: which edges this corner lies on
    float out_u = side.x < 0.0 ? v_outline.x : v_outline.y;
    float out_v = side.y < 0.0 ? v_outline.z : v_outline.w;
    p += (side.x * out_u * in_tu + side.y * out_v * in_tv) * margin;
    v_uv = in_uv + side * vec2(out_u * margin / (2.0 * hu), out_v * margin / (2.0 * hv));

    vec3 base = bar_colour(bar, value);
    vec3 view = normalize(eye - p);
    v_colour = lit(in_normal, base, value, view);
    v_edge[0] = lit(-in_tu, base, value, view);
    v_edge[1] = lit(in_tu, base, value, view);
    v_edge[2] = lit(-in_tv, base, value, view);
    v_edge[3] = lit(in_tv, base, value, view);
    // a thin rim of light along vertical edges gives the boxes their edges back in the dark
    v_rim = abs(in_normal.y) < 0.5 ? base * 0.5 : vec3(0.0);
    v_height = p.y / u_stretch;  // the shading's fades keep their share of the bar's height
#ifdef MIRROR
    v_colour = base * (in_normal.y > 0.5 ? 0.6 : 0.24);  // reflections: plain colour, darker
    p.y = -p.y;
#endif
    gl_Position = u_view_proj * vec4(p, 1.0);
}
