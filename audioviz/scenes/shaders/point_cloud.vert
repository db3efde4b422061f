// POINT-CLOUD's points: one soft sprite each, its colour and fog worked out here once rather
// than for every pixel it covers. Drawn once per cloud, then for the stars.
uniform mat4 u_model_view;
uniform vec2 u_focal;          // 1 / tan(half field of view), across and up
uniform float u_px_per_unit;   // sprite pixels per world unit at depth 1
uniform float u_min_size;      // pixels: smaller sprites are drawn this big, but dimmer
uniform float u_fog_start;     // depth where the fog begins
uniform vec2 u_density_range;  // fog_density 0 -> .x, 1 -> .y, per world unit
uniform vec3 u_palette[3];     // the cloud's colour at tint -1, 0, 1

in vec3 in_pos;
in float in_size;              // diameter, world units
in float in_bright;
in float in_tint;              // -1 cool and dim .. 1 hot and pale

flat out vec3 v_colour;        // what the sprite's centre adds (display-referred, screen-blended)

const float FLARE = 1.2;       // a hit brightens every point by this share

void main() {
    vec4 p = u_model_view * vec4(in_pos, 1.0);
    float depth = max(-p.z, 1e-3);
    float size = in_size * u_px_per_unit / depth;
    float sprite = max(size, u_min_size);
    float density = mix(u_density_range.x, u_density_range.y, clamp(u_params[8], 0.0, 1.0));
    float fog = exp(-density * max(depth - u_fog_start, 0.0));
    vec3 colour = mix(u_palette[1], in_tint < 0.0 ? u_palette[0] : u_palette[2], abs(in_tint));
    // a sprite enlarged to the minimum keeps the light of the point it stands for
    v_colour = colour * (in_bright * fog * size * size / (sprite * sprite)) * (1.0 + FLARE * u_pulse);
    gl_PointSize = sprite;
    gl_Position = vec4(p.xy * u_focal, 0.0, depth);
}
