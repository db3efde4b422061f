// VIZ-STORM's rain: one instanced quad per drop, a streak along the falling direction. Each
// drop's place, speed and size come from the seed; it falls by the layer's integrated fall
// and wraps from below the screen back up into the deck, where it fades in. Drawing a prefix
// of the drops sets the amount; the last one fades in, so nothing pops.
uniform vec2 u_rain_fall;  // how far the near and far layers have fallen, world units
uniform vec4 u_rain_near;  // streak length, width (world units), brightness, -: near layer
uniform vec4 u_rain_far;   // the same for the far layer
uniform vec3 u_rain_span;  // y where drops wrap to (top) and from (bottom), amount times drops

in vec2 in_corner;         // [-1, 1]^2
in vec4 in_drop;           // x where its path crosses y = 0, phase, speed factor, layer
in float in_index;         // its place in the drawing order

out vec2 v_local;          // pixels across the streak, and 0..1 along it
flat out vec4 v_colour;    // linear colour, opacity
flat out float v_half;     // half the streak's width, pixels

void main() {
    vec4 layer = in_drop.w < 0.5 ? u_rain_near : u_rain_far;
    float fall = in_drop.w < 0.5 ? u_rain_fall.x : u_rain_fall.y;
    float top = u_rain_span.x, range = u_rain_span.x - u_rain_span.y;
    float y = top - fract(in_drop.y + fall * in_drop.z / range) * range;
    vec2 along = normalize(vec2(-u_rain.y, -1.0));     // the way it falls
    vec2 head = vec2(in_drop.x + y * u_rain.y, y);
    float width_px = layer.y / u_px;
    float half_px = max(width_px, 1.0) * 0.5 + 1.0;   // a pixel of fade on either side
    vec2 side = vec2(-along.y, along.x);
    // the quad runs from the head back up the streak
    vec2 p = head - along * layer.x * (0.5 - 0.5 * in_corner.y)
           + side * in_corner.x * half_px * u_px;
    v_local = vec2(in_corner.x * half_px, in_corner.y * 0.5 + 0.5);
    v_half = width_px * 0.5;
    float fade_in = clamp((u_deck.x + 0.1 - y) * 6.0, 0.0, 1.0);     // out of the deck
    float present = clamp(u_rain_span.z - in_index, 0.0, 1.0);
    float thin = min(width_px, 1.0);  // streaks thinner than a pixel are dimmer instead
    v_colour = vec4(rain_drop_colour(), layer.z * fade_in * present * thin);
    gl_Position = present > 0.0 ? world_to_clip(p) : vec4(-2.0, -2.0, 0.0, 1.0);
}
