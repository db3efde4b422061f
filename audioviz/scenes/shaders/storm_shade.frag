uniform sampler2D u_field;  // field, its gradient, the field a little towards the light
uniform sampler2D u_noise;  // fractal noise and its gradient, tileable

in vec2 v_p;
in vec2 v_noise_uv;
flat in vec2 v_shape;
flat in vec4 v_light;
flat in vec3 v_grade;
flat in vec2 v_noise;       // noise amplitude in field units, and of its gradient

out vec4 frag;              // display-ready colour; how far the field is above the threshold

const vec3 LIT = vec3(0.27, 0.285, 0.30);
const vec3 SHADE = vec3(0.035, 0.04, 0.05);
const float BASE_SOFT = 0.16;   // height over which the field fades out at the cloud base
const float SLOPE = 0.28;       // how steeply the field's gradient tilts the fake normal

void main() {
    vec4 s = texelFetch(u_field, ivec2(gl_FragCoord.xy), 0);
    // storm clouds have flat bases: fade the field out below the base line
    float b = clamp((v_p.y - v_shape.y) / BASE_SOFT + 0.5, 0.0, 1.0);
    float db = 6.0 * b * (1.0 - b) / BASE_SOFT;
    b = b * b * (3.0 - 2.0 * b);
    float f = s.x * b;
    vec2 g = s.yz * b + vec2(0.0, s.x * db);
    // fractal noise roughens the edges and the surface; it casts no shadow of its own
    vec3 nz = texture(u_noise, v_noise_uv).xyz;
    f += v_noise.x * nz.x;
    g += v_noise.y * nz.yz;
    float threshold = v_shape.x;
    float inside = f - threshold;

    // a dome over the field's contour: the gradient tilts the normal towards the edges
    vec3 n = normalize(vec3(-g * SLOPE, 1.0));
    float sun = dot(n, SUN);
    // self-shadowing: how much more cloud lies a little way towards the light
    float shadow = clamp((s.w - s.x) * b * 1.2 + 0.1, 0.0, 1.0);
    float height = clamp((v_p.y - v_shape.y) / (v_light.z - v_shape.y), 0.0, 1.0);
    float deep = max(inside, 0.0);
    float thick = deep / (deep + 0.5);                   // deep inside a mass: darker
    // sky light from above, sunlight on the faces turned to it, both fading into thick cloud
    float light = mix(0.1, 0.42, height) * (1.0 - 0.4 * thick)
                + 0.8 * (1.0 - 0.6 * shadow) * (0.3 + 0.7 * max(sun, 0.0));
    vec3 c = mix(SHADE, LIT, clamp(light, 0.0, 1.2));
    // a silver lining where a thin edge faces the light
    float rim = max(sun, 0.0) * clamp(1.0 - inside / (0.4 * threshold + 0.04), 0.0, 1.0);
    c += LIT * 0.3 * rim * rim;
    // lightning lights the clouds from below, and glows through their thin parts
    float flash = flash_light(v_p.x, v_light.xy);
    float under = 0.5 * (1.0 - height) + 0.5 * max(-n.y, 0.0);
    vec3 glow = FLASH * flash * (0.15 + 0.75 * under) * (1.0 - 0.6 * thick)
              * (0.7 + 0.3 * (1.0 - shadow));
    frag = vec4(linear_to_srgb(tonemap(c * v_grade + glow)), inside);
}
