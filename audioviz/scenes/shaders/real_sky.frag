in vec3 v_colour;
flat in vec4 v_sun;

out vec4 frag;

void main() {
    vec2 s = (gl_FragCoord.xy - v_sun.xy) * v_sun.z;  // in sun radii
    float d2 = dot(s, s);
    // a bright disc with a soft edge, and a corona that fades into the interpolated glow
    float sun = v_sun.w * (3.0 / (1.0 + d2 * d2 * d2) + 0.15 / (1.0 + d2));
    frag = finish(v_colour + SUN * sun, gl_FragCoord.xy);
}
