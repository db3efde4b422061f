// VIZ-STORM's clouds at full resolution: one quad over the cloud band. Their colour comes
// shaded from the low-resolution pass; here only the edge is resolved, per pixel.
uniform vec4 u_cloud;     // blob radius scale, blob count, detail, threshold

in vec2 in_corner;

out vec2 v_uv;
flat out float v_soft;    // extra width of the edge, in field units

void main() {
    v_uv = in_corner * 0.5 + 0.5;
    v_soft = 0.12 * u_cloud.w;
    gl_Position = world_to_clip(vec2(in_corner.x * u_half.x, mix(u_layout.z, u_layout.w, v_uv.y)));
}
