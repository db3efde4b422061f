// Faint stars: a soft sprite per instance, a few pixels wide, on directions around the view
// axis that turn slowly about it.
uniform vec2 u_focal;   // 1 / tan(half field of view), across and up
uniform float u_turn;   // radians about the view axis

in vec3 in_dir;         // in view space, looking along -z
in float in_light;      // 0 faint .. 1 bright

out vec2 v_uv;
flat out vec3 v_colour;

void main() {
    float c = cos(u_turn), s = sin(u_turn);
    vec2 d = mat2(c, s, -s, c) * in_dir.xy;
    vec2 ndc = d / -in_dir.z * u_focal;
    float radius = 1.2 + 1.6 * in_light;  // pixels
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
    v_uv = corner;
    vec3 tint = hsl2rgb(vec3(u_params[3] + 0.5, 0.3, 0.85));  // the sky's complement, pale
    v_colour = srgb_to_linear(tint) * (0.06 + 0.5 * in_light);
    gl_Position = vec4(ndc + corner * radius * 2.0 / u_resolution, 0.0, 1.0);
}
