// VIZ-SATURN's planet: an icosphere whose vertices swell and sink along their normals with a
// smooth, slowly drifting relief, shaded flat per facet for the low-poly look.
//
// Each vertex carries its whole face and the far corner of each neighbouring face, so it can
// displace them all (the relief is a function of the undisplaced direction, so shared corners
// agree exactly), shade its face and its three neighbours, and find its face's edges in pixels.
// The fragment shader then anti-aliases analytically: across an inner edge it blends towards
// the neighbour's colour; a silhouette edge (its neighbour faces away) is pushed out by
// OUTLINE_PX here and faded to true pixel coverage there. No MSAA, no uniforms per pixel.
const int WAVES = 8;
const float OUTLINE_PX = 1.5;   // how far silhouette edges are pushed out, pixels
const float MAX_SHIFT_PX = 4.0; // a sharp corner's mitre is capped at this
const float FLARE = 1.0;        // a hit brightens the sunlit side by this share, with the rings

uniform float u_radius;         // world units
uniform float u_morph;          // relief amplitude, a fraction of the radius
uniform float u_spin;           // the planet's rotation about its axis so far, radians
uniform float u_hue;            // 0..1 around the colour wheel
uniform float u_stripe_phase;   // seeded: where the latitude bands fall
uniform vec3 u_eye_sys;         // the eye in system space
uniform vec4 u_waves[WAVES];    // relief: wave vector (xyz, 1/world) and amplitude (w)
uniform vec2 u_wave_phase[WAVES];  // relief: phase (rad) and drift (rad/s)

in vec3 in_a;                   // the face's corners as unit directions, counter-clockwise
in vec3 in_b;
in vec3 in_c;
in vec3 in_oab;                 // the far corner of the face across edge ab, bc, ca
in vec3 in_obc;
in vec3 in_oca;
in float in_corner;             // which of a, b, c this vertex is

flat out vec3 v_colour;         // this face, lit, linear
flat out vec3 v_neighbour[3];   // the faces across edges ab, bc, ca, lit
flat out vec3 v_edge[3];        // the edges as lines in pixels: dot(xy, p) + z = distance inside
flat out vec3 v_outline;        // 1 where an edge lies on the silhouette

// Smooth relief in about [-1, 1]: a few plane waves with random directions drifting slowly.
float relief(vec3 c) {
    float d = 0.0;
    for (int i = 0; i < WAVES; i++) {
        d += u_waves[i].w * sin(dot(u_waves[i].xyz, c) + u_wave_phase[i].x + u_wave_phase[i].y * u_time);
    }
    return d;
}

// A displaced corner in system space, turned by the planet's spin.
vec3 surface(vec3 c, float height) {
    vec3 p = c * (u_radius * (1.0 + u_morph * height));
    float cs = cos(u_spin), sn = sin(u_spin);
    return vec3(cs * p.x + sn * p.z, p.y, -sn * p.x + cs * p.z);
}

vec3 albedo(vec3 dir, float height) {
    // gas-giant bands along the latitude, bent a little by the relief; high ground is paler
    float stripe = sin(dir.y * 9.0 + u_stripe_phase + 1.3 * height);
    float jitter = hash12(dir.xz * 91.7 + dir.y * 13.1) - 0.5;  // fixed per facet
    vec3 hsl = vec3(u_hue + 0.035 * stripe + 0.012 * jitter,
                    0.46 + 0.1 * stripe,
                    0.42 + 0.12 * stripe + 0.08 * height + 0.05 * jitter);
    return srgb_to_linear(hsl2rgb(hsl));
}

vec3 atmosphere() { return srgb_to_linear(hsl2rgb(vec3(u_hue - 0.06, 0.6, 0.7))); }

// The lit colour of the face p0 p1 p2 (system space, counter-clockwise from outside).
vec3 shade(vec3 p0, vec3 p1, vec3 p2, vec3 dir, float height) {
    vec3 n = normalize(cross(p1 - p0, p2 - p0));
    vec3 m = (p0 + p1 + p2) / 3.0;
    vec3 v = normalize(u_eye_sys - m);
    vec3 l = u_light_sys;
    float ndl = dot(n, l);
    // the rings' shadow: where the way to the sun crosses their plane, and how dense they are there
    float s = -m.y / (abs(l.y) > 1e-3 ? l.y : 1e-3);
    float ring = s > 0.0 ? ring_density(length((m + s * l).xz)) : 0.0;
    float sun = smoothstep(-0.22, 1.0, ndl) * (1.0 - 0.6 * ring);  // soft terminator
    vec3 h = normalize(l + v);
    float spec = max(dot(n, h), 0.0);
    spec *= spec; spec *= spec; spec *= spec; spec *= spec;  // ^16
    vec3 base = albedo(dir, height);
    float fill = 0.035 + 0.05 * max(-ndl, 0.0);  // starlight and a faint back light on the night side
    float edge = 1.0 - max(dot(n, v), 0.0);
    float rim = edge * edge * edge * (0.08 + 0.5 * smoothstep(-0.35, 0.5, ndl));
    sun *= 1.0 + FLARE * u_pulse;
    return base * (fill + 1.15 * sun) * SUN + 0.12 * spec * sun * SUN + rim * atmosphere();
}

void main() {
    vec3 dirs[6] = vec3[6](in_a, in_b, in_c, in_oab, in_obc, in_oca);
    float heights[6];
    vec3 p[6];
    for (int i = 0; i < 6; i++) {
        heights[i] = relief(dirs[i]);
        p[i] = surface(dirs[i], heights[i]);
    }
    float h_face = (heights[0] + heights[1] + heights[2]) / 3.0;
    v_colour = shade(p[0], p[1], p[2], normalize(in_a + in_b + in_c), h_face);

    vec4 clip[3];
    vec2 px[3];
    for (int j = 0; j < 3; j++) {
        clip[j] = to_clip(u_centre + u_model * p[j]);
        px[j] = to_pixels(clip[j]);
    }
    vec2 normal[3];
    for (int i = 0; i < 3; i++) {
        int j = (i + 1) % 3, o = (i + 2) % 3;
        // the neighbour across edge i (corners i, j) has them in the opposite order
        vec3 q0 = p[j], q1 = p[i], q2 = p[3 + i];
        float h = (heights[i] + heights[j] + heights[3 + i]) / 3.0;
        v_neighbour[i] = shade(q0, q1, q2, normalize(dirs[i] + dirs[j] + dirs[3 + i]), h);
        vec3 qn = cross(q1 - q0, q2 - q0);
        v_outline[i] = dot(qn, u_eye_sys - q0) <= 0.0 ? 1.0 : 0.0;

        vec2 e = px[j] - px[i];
        vec2 n = vec2(-e.y, e.x) / max(length(e), 1e-6);
        n *= dot(n, px[o] - px[i]) < 0.0 ? -1.0 : 1.0;  // point inwards
        normal[i] = n;
        v_edge[i] = vec3(n, -dot(n, px[i]));
    }

    // push this corner out along both its edges that lie on the silhouette
    int k = int(in_corner + 0.5);
    int prev = (k + 2) % 3;
    vec2 n1 = normal[k], n2 = normal[prev];
    float r1 = -OUTLINE_PX * v_outline[k], r2 = -OUTLINE_PX * v_outline[prev];
    float det = n1.x * n2.y - n1.y * n2.x;
    vec2 shift = abs(det) > 1e-3 ? (r1 * vec2(n2.y, -n2.x) + r2 * vec2(-n1.y, n1.x)) / det : vec2(0.0);
    float len = length(shift);
    shift *= len > MAX_SHIFT_PX ? MAX_SHIFT_PX / len : 1.0;
    vec4 c = clip[k];
    gl_Position = vec4(((px[k] + shift) / u_resolution * 2.0 - 1.0) * c.w, c.z, c.w);
}
