// VIZ-STORM's lightning bolt: one instance per segment of a jagged polyline made in storm.py
// from the strike's seed; a quad around it, grown by the reach of the glow. Drawn with MAX
// blending, so the glows of neighbouring segments do not add up at their joints.
uniform float u_bolt_power;  // brightness of this bolt, now

in vec2 in_corner;
in vec4 in_segment;        // from a (xy) to b (zw), world units
in vec2 in_style;          // width scale, brightness along the channel

out vec2 v_p;
flat out vec4 v_segment;
flat out vec3 v_style;     // core half width in pixels, brightness, pixels per world unit

const float REACH = 0.07;  // world units the glow reaches from the channel
const float CORE = 0.006;  // half width of the main channel's white core, world units

void main() {
    float power = u_bolt_power * in_style.y;
    vec2 a = in_segment.xy, d = in_segment.zw - in_segment.xy;
    float len = length(d);
    vec2 dir = len > 1e-6 ? d / len : vec2(0.0, 1.0);
    vec2 side = vec2(-dir.y, dir.x);
    vec2 p = a + d * (in_corner.x * 0.5 + 0.5) + (dir * in_corner.x + side * in_corner.y) * REACH;
    v_p = p;
    v_segment = in_segment;
    v_style = vec3(max(in_style.x * CORE / u_px, 0.6), power, 1.0 / u_px);
    gl_Position = world_to_clip(p);
}
