// VIZ-STORM's tornado: a lathe, the half facing the viewer, whose radius profile (from numpy)
// narrows towards the ground. Its axis snakes, its rings ripple upwards, and the streaks on
// its surface turn with the spin that storm.py integrates. Lit per vertex.
uniform vec4 u_tornado;    // x below the cloud, strength 0..1, spin (radians), touch-down 0..1
uniform vec2 u_tornado_y;  // y of its top (inside the cloud) and of the ground at its foot

in vec4 in_lathe;          // cos and sin of the angle around, height 0 (foot) .. 1 (top), profile

out vec2 v_swirl;          // angle around (turning with the spin and twisting with height), height
out float v_edge;          // pixels inside the mesh's outline
out vec4 v_colour;         // lit colour, opacity

const vec3 FUNNEL = vec3(0.15, 0.16, 0.17);
const vec3 DEBRIS = vec3(0.20, 0.16, 0.12);
const float TWIST = 5.0;   // radians of twist from foot to top

void main() {
    float s = u_tornado.y, touch = u_tornado.w;
    float v = in_lathe.z;
    float top = u_tornado_y.x, ground = u_tornado_y.y;
    float foot = tornado_foot(top, ground, touch);
    float y = mix(foot, top, v);
    float r = mix(mix(0.004, 0.05, s), mix(0.11, 0.30, s), in_lathe.w);
    // rings ripple up the funnel, and its edge is ragged
    r *= 1.0 + (1.0 - v) * (0.09 * sin(v * 26.0 - u_clock * 5.0)
                          + 0.05 * sin(v * 61.0 + in_lathe.x * 3.0 - u_clock * 2.0));
    float axis = tornado_axis(v, u_tornado.x, s, top - ground);
    // grow the outline by a pixel, so the fragment shader can fade it to true coverage
    float grown = r + u_px;
    vec2 p = vec2(axis + in_lathe.x * grown, y);
    v_edge = grown * (1.0 - abs(in_lathe.x)) / u_px;
    float angle = atan(in_lathe.y, in_lathe.x);
    v_swirl = vec2(angle + u_tornado.z + v * TWIST, v);

    // lit like a cylinder: the side towards the daylight brighter
    float diffuse = max(dot(vec2(in_lathe.x, in_lathe.y), normalize(vec2(SUN.x, SUN.z))), 0.0);
    vec3 base = mix(DEBRIS, FUNNEL, mix(1.0, smoothstep(0.0, 0.35, v), touch));
    float flash = flash_light(axis, u_flash.xy);
    vec3 c = base * (0.55 + 0.9 * diffuse) * u_grade + FLASH * flash * (0.18 + 0.25 * diffuse);
    // opaque with strength; the tip fades into the air, the top into the cloud
    // a volume is thinner seen through its edges
    float alpha = mix(0.6, 0.93, s) * smoothstep(0.0, mix(0.25, 0.06, touch), v)
                * (1.0 - smoothstep(0.85, 1.0, v)) * mix(0.55, 1.0, sqrt(in_lathe.y));
    // seen through the veil of rain
    v_colour = vec4(mix(c, rain_veil_colour(p.x), rain_veil(p)), alpha);
    gl_Position = world_to_clip(p);
}
