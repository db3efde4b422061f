// VIZ-STORM's backdrop, coloured at the corners of a coarse grid: the sky, the storm's flat
// cloud deck with its lowering over the tornado, and the hills and fields. The deck's edge and
// the hills' crest are interpolated heights too, so the fragment shader only resolves those
// two silhouettes per pixel. The veil of rain is mixed in here.
uniform vec4 u_hills;      // phases of the hills' three waves, from the seed
uniform vec4 u_tornado;    // x below the cloud, strength, spin, touch-down

in vec2 in_ndc;

// Few varyings: interpolating them is most of this pass's cost. The deck's edge and the hills'
// crest are far apart, so a point needs the sky's colour and one other, the deck's above the
// middle of the sky and the ground's below it (no cell that crosses the middle reaches either).
out vec3 v_sky;            // display-ready colours of the sky and of the other layer here
out vec3 v_other;
out float v_edge;          // how far into the other layer, in its edge's widths

const float DECK_SOFT = 6.0;  // pixels: the deck's edge is cloud, the hills' is a sharp crest

const vec3 ZENITH = vec3(0.075, 0.085, 0.105);
const vec3 UNDER = vec3(0.15, 0.165, 0.17);    // the grey wall of rain beneath the storm
const vec3 CLEAR = vec3(0.60, 0.62, 0.44);     // the sallow yellow-green of a tornado sky
const vec3 DECK = vec3(0.085, 0.09, 0.10);
const vec3 SOIL = vec3(0.035, 0.042, 0.030);
const vec3 HAZE = vec3(0.14, 0.15, 0.13);

float hills(float x) {
    return 0.022 + 0.026 * sin(x * 2.3 + u_hills.x) + 0.014 * sin(x * 5.1 + u_hills.y)
         + 0.006 * sin(x * 13.0 + u_hills.z);
}

// The deck's base: slow swells that drift with the wind, and a lowering over the tornado.
float deck(float x) {
    float d = x - u_deck.y;
    float swell = 0.035 * sin(d * 1.9 + u_hills.w) + 0.018 * sin(d * 4.7 - u_hills.x)
                + 0.008 * sin(d * 11.0 + u_hills.y);
    float near = (x - u_tornado.x) * 4.0;
    return u_deck.x + swell - mix(0.03, 0.1, u_tornado.y) / (1.0 + near * near);
}

void main() {
    vec2 p = in_ndc * u_half;
    float horizon = u_layout.x, top = u_layout.w;
    float edge = deck(p.x);
    float h = max(p.y - horizon, 0.0);
    float up = clamp(h / max(edge - horizon, 1e-3), 0.0, 1.0);
    float flash = flash_light(p.x, u_flash.xy);

    // grey under the deck, clear air glowing at the horizon
    vec3 sky = mix(UNDER, ZENITH, smoothstep(0.2, 1.1, up));
    float band = h * 7.0;
    sky += CLEAR * (0.85 / (1.0 + band * band) + 0.06 * (1.0 - up));
    vec3 sky_lit = sky * u_grade + FLASH * flash * (0.12 + 0.3 * up);

    // the deck's underside catches the horizon's light near its edge and darkens above;
    // the flash lights it from below
    float above = clamp((p.y - edge) / max(top - edge, 1e-3), 0.0, 1.0);
    vec3 deck_c = DECK * (1.25 - 0.6 * above) + CLEAR * 0.05 * (1.0 - above);
    vec3 deck_lit = deck_c * u_grade + FLASH * flash * (0.5 - 0.25 * above);

    // fields darken towards the viewer; near the horizon they take the haze's colour
    float depth = clamp((horizon - p.y) / max(horizon + u_half.y, 1e-3), 0.0, 1.0);
    vec3 far = HAZE + 0.25 * CLEAR / (1.0 + 40.0 * depth);
    vec3 ground = mix(far, SOIL, smoothstep(0.0, 0.5, depth));
    vec3 ground_lit = ground * u_grade
                    + FLASH * flash * (0.05 + 0.12 * u_flash.z) * (1.0 - 0.6 * depth);

    // the veil of rain hangs in front of the sky and the fields, but behind the deck's edge
    float veil = rain_veil(p);
    vec3 veil_c = rain_veil_colour(p.x);
    sky_lit = mix(sky_lit, veil_c, veil);
    ground_lit = mix(ground_lit, veil_c, veil);
    bool upper = p.y > 0.5 * (horizon + u_deck.x);
    v_sky = linear_to_srgb(tonemap(sky_lit));
    v_other = linear_to_srgb(tonemap(upper ? deck_lit : ground_lit));
    v_edge = upper ? (p.y - edge) / (DECK_SOFT * u_px) : (horizon + hills(p.x) - p.y) / u_px;
    gl_Position = vec4(in_ndc, 0.0, 1.0);
}
