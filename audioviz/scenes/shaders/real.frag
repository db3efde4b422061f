// VIZ-REAL: the sky, and each sphere ray-traced exactly inside its quad (see real.vert).
uniform vec3 u_eye;
uniform vec3 u_right;
uniform vec3 u_up;
uniform vec3 u_forward;
uniform vec2 u_tan;
uniform float u_px;
uniform vec3 u_dirs[26];
uniform vec3 u_light;  // unit vector towards the light

// Per sphere, the few spheres that can shadow or crowd it, -1 where its list ends: chosen once
// on the CPU, so a pixel never loops over all 26.
const int NEIGHBOURS = 8;
uniform int u_neighbours[26 * NEIGHBOURS];

flat in int v_sphere;
flat in vec3 v_centre;
flat in float v_radius;
flat in float v_distance;

out vec4 frag;

const vec3 SUN = vec3(1.0, 0.86, 0.70);
const float LIGHT_TAN = 0.12;  // a broad light: soft penumbrae

// Colour parameters move within a range that stays pleasant at both ends (sRGB).
vec3 param_colour(int i, vec3 lo, vec3 hi) {
    return srgb_to_linear(mix(lo, hi, vec3(u_params[i], u_params[i + 1], u_params[i + 2])));
}

// Hazy horizon, deeper zenith, darker nadir, and slow broad swells fixed in the world so the
// camera's revolution shows.
vec3 sky_dome(vec3 dir, vec3 base) {
    float y = dir.y;
    vec3 horizon = base * 1.25 + 0.012;
    vec3 c = y > 0.0 ? mix(horizon, base * 0.55, sqrt(y)) : mix(horizon, base * 0.3, sqrt(-y));
    float swell = sin(dot(dir, vec3(2.3, 0.9, 1.4)) + 0.7) * sin(dot(dir, vec3(-1.1, 1.9, 2.6)) + 2.1);
    return c * (1.0 + 0.35 * swell);
}

// Wide glow, halo and a soft disc towards the light.
vec3 sun_glow(vec3 dir) {
    float x = dot(dir, u_light) - 1.0;
    return SUN * (0.12 * exp(4.0 * x) + 0.5 * exp(40.0 * x) + 5.0 * exp(3000.0 * x));
}

void main() {
    vec2 ndc = gl_FragCoord.xy / u_resolution * 2.0 - 1.0;
    vec3 rd = normalize(u_forward + ndc.x * u_tan.x * u_right + ndc.y * u_tan.y * u_up);
    vec3 sky = param_colour(3, vec3(0.10, 0.12, 0.17), vec3(0.80, 0.80, 0.78));
    if (v_sphere < 0) {
        frag = finish(sky_dome(rd, sky) + sun_glow(rd), gl_FragCoord.xy);
        return;
    }

    vec3 oc = u_eye - v_centre;
    float b = dot(oc, rd);
    vec3 closest = oc - b * rd;  // from the centre to the ray's nearest point
    float miss = length(closest);
    // coverage from how many pixels outside the silhouette the ray passes
    float cover = clamp(0.5 - (miss - v_radius) / (u_px * -b), 0.0, 1.0);
    if (cover <= 0.0) discard;
    float h2 = v_radius * v_radius - miss * miss;
    // just outside the silhouette, shade the silhouette itself so the fade stays continuous
    vec3 n = h2 > 0.0 ? (oc - (b + sqrt(h2)) * rd) / v_radius : closest / miss;
    vec3 p = v_centre + n * v_radius;

    float light = 1.0;
    float occlusion = 0.0;
    for (int k = 0; k < NEIGHBOURS; k++) {
        int j = u_neighbours[v_sphere * NEIGHBOURS + k];
        if (j < 0) break;
        vec3 c = u_dirs[j] * v_distance;
        light = min(light, sphere_shadow(p, u_light, c, v_radius, LIGHT_TAN));
        occlusion += sphere_occlusion(p, n, c, v_radius);
    }
    float ao = 1.0 / (1.0 + 1.5 * occlusion);

    vec3 albedo = param_colour(0, vec3(0.07, 0.07, 0.08), vec3(0.92, 0.90, 0.87));
    vec3 v = -rd;
    float diffuse = max(dot(n, u_light), 0.0) * light;
    float spec = pow(max(dot(n, normalize(u_light + v)), 0.0), 80.0) * 6.0 * light;
    float fresnel = 0.04 + 0.96 * pow(1.0 - max(dot(n, v), 0.0), 5.0);
    vec3 r = reflect(rd, n);
    vec3 c = albedo * (SUN * 2.0 * diffuse + sky_dome(n, sky) * ao)
           + SUN * spec * fresnel * 4.0
           + fresnel * (sky_dome(r, sky) * ao + sun_glow(r) * light);
    frag = finish(c, gl_FragCoord.xy) * cover;  // premultiplied alpha
}
