// VIZ-STORM's debris cloud: soft puffs whirling out from the tornado's foot once it touches
// down, rising and spreading as they age.
uniform vec4 u_tornado;    // x below the cloud, strength, spin, touch-down
uniform vec2 u_tornado_y;  // y of its top and of the ground at its foot

in vec2 in_corner;

out vec2 v_local;
flat out vec4 v_colour;    // lit colour, opacity
flat out vec3 v_shade;     // colour of the puff's shadowed side

const vec3 DUST = vec3(0.15, 0.14, 0.125);

void main() {
    float i = float(gl_InstanceID);
    float s = u_tornado.y, touch = u_tornado.w;
    float top = u_tornado_y.x, ground = u_tornado_y.y;
    float x = tornado_axis(0.0, u_tornado.x, s, top - ground);
    // each puff is born at the foot, is flung outwards and upwards, and fades
    float life = fract(i * 0.6180339887 + u_clock * (0.14 + 0.06 * fract(i * 0.37)));
    float angle = u_tornado.z + i * 2.39996;
    float reach = (0.02 + 0.3 * sqrt(life)) * mix(0.45, 1.0, s);
    vec2 c = vec2(x + cos(angle) * reach, ground + 0.01 + 0.16 * life * s + 0.03 * sin(angle));
    float size = (0.03 + 0.09 * sqrt(life)) * mix(0.5, 1.0, s) * (0.7 + 0.6 * fract(i * 0.73));
    float flash = flash_light(c.x, u_flash.xy);
    vec3 lit = DUST * (0.8 + 0.4 * fract(i * 0.53)) * u_grade + FLASH * flash * 0.15;
    float fade = smoothstep(0.0, 0.12, life) * (1.0 - life);
    v_colour = vec4(lit * 1.3, 0.65 * smoothstep(0.75, 1.0, touch) * fade);
    v_shade = lit * 0.5;
    v_local = in_corner;
    gl_Position = world_to_clip(c + in_corner * size);
}
