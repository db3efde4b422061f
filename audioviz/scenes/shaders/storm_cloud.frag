uniform sampler2D u_shade;  // display-ready colour, and how far the field is above the threshold

in vec2 v_uv;
flat in float v_soft;

out vec4 frag;

void main() {
    vec4 s = texture(u_shade, v_uv);
    // a soft edge, a little wider than a pixel: cloud is not a cut-out
    float cover = clamp(s.a / (fwidth(s.a) + v_soft) + 0.5, 0.0, 1.0);
    frag = vec4(s.rgb, 1.0) * cover;
}
