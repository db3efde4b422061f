uniform vec3 u_eye;
uniform float u_mirror;

in vec3 v_world;
in vec2 v_uv;
flat in vec3 v_normal;
flat in vec3 v_tu;
flat in vec3 v_tv;
flat in int v_bar;
flat in float v_value;

out vec4 frag;

vec3 bar_colour(int bar, float value) {
    // a cool-to-warm sweep along the row; taller bars are more saturated and brighter
    float hue = mix(0.53, 0.97, float(bar) / 9.0);
    return srgb_to_linear(hsl2rgb(vec3(hue, mix(0.55, 0.85, value), mix(0.42, 0.58, value))));
}

// Coverage of this pixel by the face, from its distance in pixels to each silhouette edge.
float edge_coverage(vec3 p_local_eye) {
    vec2 d0 = v_uv / max(fwidth(v_uv), vec2(1e-6));
    vec2 d1 = (1.0 - v_uv) / max(fwidth(v_uv), vec2(1e-6));
    float c = 1.0;
    if (dot(-v_tu, p_local_eye) < 0.0) c *= clamp(d0.x + 0.5, 0.0, 1.0);
    if (dot(v_tu, p_local_eye) < 0.0) c *= clamp(d1.x + 0.5, 0.0, 1.0);
    if (dot(-v_tv, p_local_eye) < 0.0) c *= clamp(d0.y + 0.5, 0.0, 1.0);
    if (dot(v_tv, p_local_eye) < 0.0) c *= clamp(d1.y + 0.5, 0.0, 1.0);
    return c;
}

void main() {
    vec3 p = vec3(v_world.x, v_world.y * u_mirror, v_world.z);  // back in the bars' own space
    vec3 eye = vec3(u_eye.x, u_eye.y * u_mirror, u_eye.z);
    float cover = edge_coverage(eye - p);
    if (cover < 0.004) discard;

    vec3 base = bar_colour(v_bar, v_value);
    if (u_mirror < 0.0) {  // reflection: plain colour fading with depth below the floor
        frag = vec4(linear_to_srgb(base * (0.3 / (1.0 + 2.0 * p.y * p.y)) * (v_normal.y > 0.5 ? 2.0 : 0.8)), 1.0) * cover;
        return;
    }
    vec3 n = v_normal;
    vec3 v = normalize(eye - p);
    vec3 key = normalize(vec3(-0.45, 0.85, 0.55));
    vec3 fill = normalize(vec3(0.6, 0.3, 0.7));
    float diff = max(dot(n, key), 0.0) * 0.9 + max(dot(n, fill), 0.0) * 0.25;
    float spec = pow(max(dot(n, normalize(key + v)), 0.0), 48.0) * 0.35;
    float ao = mix(0.45, 1.0, smoothstep(0.0, 0.9, p.y));  // darker where the bar meets the floor
    vec3 c = base * (0.18 + diff) * ao + spec;
    // the cap glows with the bar's level, so heights read at a glance
    if (n.y > 0.5) c += base * (0.35 + 1.1 * v_value);
    // a thin rim of light along vertical edges gives the boxes their edges back in the dark
    float rim = smoothstep(0.92, 1.0, abs(v_uv.x * 2.0 - 1.0)) * step(abs(n.y), 0.5);
    c += base * rim * 0.5;

    frag = finish(c, gl_FragCoord.xy) * cover;  // premultiplied alpha
}
