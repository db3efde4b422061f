in vec2 v_uv;
in vec3 v_colour;
in float v_height;
flat in vec4 v_outline;
flat in vec3 v_edge[4];
flat in vec3 v_rim;

out vec4 frag;

void main() {
    // distance in pixels to the face's four edges (u=0, u=1, v=0, v=1)
    vec2 fw = max(fwidth(v_uv), vec2(1e-6));
    vec4 d = vec4(v_uv, 1.0 - v_uv).xzyw / fw.xxyy;
    // outline edges fade to the pixel's true coverage, blended over whatever lies behind
    vec4 cover4 = mix(vec4(1.0), clamp(d + 0.5, 0.0, 1.0), v_outline);
    float cover = cover4.x * cover4.y * cover4.z * cover4.w;
    // inner edges share the pixel with the face beyond: blend towards its colour
    vec4 share = (1.0 - v_outline) * clamp(0.5 - d, 0.0, 0.5);
    vec3 c = v_colour;
    c = mix(c, v_edge[0], share.x);
    c = mix(c, v_edge[1], share.y);
    c = mix(c, v_edge[2], share.z);
    c = mix(c, v_edge[3], share.w);
#ifdef MIRROR
    // the reflection fades with depth below the floor
    frag = vec4(linear_to_srgb(c / (1.0 + 2.0 * v_height * v_height)), 1.0) * cover;
#else
    c *= mix(0.45, 1.0, clamp(v_height / 0.9, 0.0, 1.0));  // darker where it meets the floor
    c += v_rim * smoothstep(0.92, 1.0, abs(v_uv.x * 2.0 - 1.0));
    frag = finish(c, gl_FragCoord.xy) * cover;  // premultiplied alpha
#endif
}
