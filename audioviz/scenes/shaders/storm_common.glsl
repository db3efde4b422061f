// Shared by VIZ-STORM's shaders (storm.py prepends it): layout, light and the day/night tint.
// Fragment shaders read these through flat varyings: llvmpipe reloads uniforms for every pixel.
uniform vec2 u_half;      // half the screen in world units: the narrower side spans 2
uniform float u_px;       // world units per pixel
uniform vec4 u_layout;    // y of the horizon, of the cloud base, of the cloud band's bottom and top
uniform float u_clock;    // scene clock: seconds times the speed parameter
uniform vec3 u_grade;     // ambient light multiplier: the day/night tint
uniform vec4 u_flash;     // lightning now: brightness, x of its light, share that struck the ground

const vec3 FLASH = vec3(0.80, 0.85, 1.0);  // the cold blue-white light of a bolt
const vec3 SUN = vec3(-0.42, 0.72, 0.55);  // diffuse daylight, from the upper left (unit)

vec4 world_to_clip(vec2 p) { return vec4(p / u_half, 0.0, 1.0); }

// Lightning's light at x: bright around the strike, a dim wash everywhere else.
float flash_light(float x, vec2 flash) {
    float dx = (x - flash.y) * 1.8;
    return flash.x * (0.22 + 0.78 / (1.0 + dx * dx));
}

// The tornado's axis at height v (0 at its foot, 1 in the cloud): its top follows u_tornado.x
// and its foot swings, more for a stronger tornado. `reach` is its height in world units.
float tornado_axis(float v, float x, float strength, float reach) {
    float swing = mix(0.05, 0.13, strength) * reach * (1.0 - v) * (1.0 - v);
    return x + swing * (sin(v * 2.8 + u_clock * 0.55) + 0.35 * sin(v * 7.0 - u_clock * 1.3));
}

// Where the tornado's foot is, short of touching down: partway from the cloud to the ground.
float tornado_foot(float top, float ground, float touch) {
    return mix(top - 0.4 * (top - ground), ground, touch);
}

// Clouds shade themselves by how much more cloud lies this far towards the light.
vec2 shadow_shift() { return 0.07 * normalize(SUN.xy); }

// Clip position of world point p in the cloud field's texture, which spans the screen's width
// and the cloud band's height.
vec4 field_clip(vec2 p) {
    float y = (p.y - u_layout.z) / (u_layout.w - u_layout.z);
    return vec4(p.x / u_half.x, y * 2.0 - 1.0, 0.0, 1.0);
}

// --- rain ------------------------------------------------------------------------------------
uniform vec2 u_rain;         // amount 0..1, slant (x per y)
uniform vec2 u_deck;         // y of the cloud deck's base, how far it has drifted

// The veil of rain at world point p: an opacity, in curtains below the deck, and its colour.
float rain_veil(vec2 p) {
    float below = clamp((u_deck.x - p.y) * 3.0 + 0.3, 0.0, 1.0);
    return 0.3 * u_rain.x * below * (0.6 + 0.4 * sin((p.x + p.y * u_rain.y) * 4.3));
}
// Raindrops, the same colour everywhere (the flash lights them all).
vec3 rain_drop_colour() { return vec3(0.42, 0.46, 0.50) * u_grade + FLASH * u_flash.x * 0.45; }
vec3 rain_veil_colour(float x) {
    return vec3(0.20, 0.22, 0.24) * u_grade + FLASH * flash_light(x, u_flash.xy) * 0.15;
}
