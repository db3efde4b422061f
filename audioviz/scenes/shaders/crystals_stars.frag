in vec2 v_uv;
flat in vec3 v_colour;
out vec4 frag;

void main() {
    float r = 1.0 - min(dot(v_uv, v_uv), 1.0);
    frag = vec4(v_colour * r * r, 0.0);  // added to the sky
}
