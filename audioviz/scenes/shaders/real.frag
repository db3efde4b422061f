// One sphere, ray-traced inside its quad (see real.vert), in coordinates centred on it.
in vec3 v_ray;
flat in vec3 v_eye;
flat in float v_radius;
flat in float v_px;
flat in vec3 v_light;
flat in vec3 v_albedo;
flat in vec4 v_occluders[NEIGHBOURS];
flat in vec3 v_crowd;
flat in vec3 v_ambient[6];

out vec4 frag;

const float LIGHT_TAN = 0.12;  // a broad light: soft penumbrae (real.py's PENUMBRA)

// The sky around direction d, blurred: an ambient cube.
vec3 ambient(vec3 d) {
    vec3 w = d * d;
    return w.x * (d.x > 0.0 ? v_ambient[0] : v_ambient[1])
         + w.y * (d.y > 0.0 ? v_ambient[2] : v_ambient[3])
         + w.z * (d.z > 0.0 ? v_ambient[4] : v_ambient[5]);
}

void main() {
    vec3 rd = normalize(v_ray);
    float b = dot(v_eye, rd);
    vec3 closest = v_eye - b * rd;  // from the centre to the ray's nearest point
    float miss = length(closest);
    float r = v_radius;
    // coverage from how many pixels outside the silhouette the ray passes
    float cover = clamp(0.5 - (miss - r) / (v_px * -b), 0.0, 1.0);
    if (cover <= 0.0) discard;
    // the hit point's normal; just outside the silhouette, the silhouette's, so the fade is smooth
    vec3 n = (closest - sqrt(max(r * r - miss * miss, 0.0)) * rd) / max(miss, r);

    // Soft shadows and ambient occlusion from the neighbours, analytic per sphere. From the
    // surface point p = n * r, an occluder at o lies t along the light and sqrt(l2 - t^2) off it.
    float ndl = dot(n, v_light);
    float light = 1.0;
    float occlusion = max(dot(n, v_crowd), 0.0);
    for (int k = 0; k < NEIGHBOURS; k++) {
        vec3 o = v_occluders[k].xyz;
        float dno = dot(n, o);
        float l2 = dot(o, o) - 2.0 * r * dno + r * r;
        occlusion += max(dno - r, 0.0) * inversesqrt(l2) / l2;  // cosine-weighted solid angle / r^2
        float t = v_occluders[k].w - r * ndl;
        float gap = sqrt(max(l2 - t * t, 0.0)) - r;  // between the light's ray and the occluder
        light = min(light, t > 0.0 ? smoothstep(-1.0, 1.0, gap / (LIGHT_TAN * t)) : 1.0);
    }
    float ao = 1.0 / (1.0 + 1.5 * r * r * occlusion);

    vec3 v = -rd;
    // wrapped a little past the terminator: a soft studio light rather than a hard sun
    float diffuse = max(ndl + 0.25, 0.0) / 1.25 * light;
    float spec = max(dot(n, normalize(v_light + v)), 0.0);
    spec *= spec; spec *= spec; spec *= spec; spec *= spec; spec *= spec; spec *= spec;  // ^64
    float grazing = 1.0 - max(dot(n, v), 0.0);
    // Schlick's fresnel, capped as for a slightly rough surface: the silhouette reflects the sky,
    // which a neighbour behind it would hide, so a full-strength rim would read as an outline
    float fresnel = 0.04 + 0.41 * grazing * grazing * grazing * grazing * grazing;
    // the reflected light's glow: bright rims when the spheres stand against the light
    vec3 mirror = reflect(rd, n);
    float glow = max(dot(mirror, v_light), 0.0);
    glow *= glow; glow *= glow; glow *= glow;  // ^8
    vec3 c = v_albedo * (SUN * diffuse + ambient(n) * ao)
           + SUN * 2.0 * spec * light
           + fresnel * (ambient(mirror) * ao + SUN * 1.5 * glow * light);
    frag = finish(c, gl_FragCoord.xy) * cover;  // premultiplied alpha
}
