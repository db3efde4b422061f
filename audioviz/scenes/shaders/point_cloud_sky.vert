// POINT-CLOUD's sky, per vertex of a coarse screen grid: the fog colour (or, in clear air, the
// night) with a gentle vertical gradient, and the light each cloud scatters into the fog around
// it. Everything here is smooth, so interpolating it loses nothing.
uniform vec2 u_tan;            // tan(half field of view), across and up
uniform vec2 u_density_range;  // fog_density 0 -> .x, 1 -> .y, per world unit
uniform vec4 u_halos[4];       // per cloud: centre (NDC), radius (NDC of the narrower side), depth into the fog
uniform vec2 u_cloud_sl;       // saturation and lightness of the clouds
uniform vec2 u_fog_sl;         // and of the fog

in vec2 in_ndc;
out vec3 v_colour;             // display-referred

const float SKY_DEPTH = 10.0;  // world units of fog that make the sky the fog's colour
const float GLOW = 0.07;       // light a cloud scatters into thick fog, linear
const float GRADIENT = 0.22;   // top lighter than bottom by this fraction
const float FLASH = 0.12;      // light a cloud sheds around it on a hit, linear, fog or not

void main() {
    float density = mix(u_density_range.x, u_density_range.y, clamp(u_params[8], 0.0, 1.0));
    float hue = u_params[9];
    vec3 fog = srgb_to_linear(hsl2rgb(vec3(hue, u_fog_sl)));
    vec3 night = srgb_to_linear(hsl2rgb(vec3(hue, 0.35, 0.035)));
    float thickness = 1.0 - exp(-density * SKY_DEPTH);
    vec3 c = mix(night, fog, thickness);
    c *= 1.0 + GRADIENT * in_ndc.y - 0.12 * in_ndc.x * in_ndc.x;

    vec2 metric = u_tan / min(u_tan.x, u_tan.y);
    for (int i = 0; i < 4; i++) {
        vec4 h = u_halos[i];
        vec2 d = (in_ndc - h.xy) * metric / h.z;
        float r2 = dot(d, d);
        vec3 cloud = srgb_to_linear(hsl2rgb(vec3(u_params[i], u_cloud_sl)));
        float falloff = 1.0 / (1.0 + 0.6 * r2 * r2);
        c += cloud * (GLOW * thickness * exp(-density * max(h.w, 0.0)) * falloff);
        c += cloud * (FLASH * u_pulse * falloff);
    }
    v_colour = linear_to_srgb(c);
    gl_Position = vec4(in_ndc, 0.0, 1.0);
}
