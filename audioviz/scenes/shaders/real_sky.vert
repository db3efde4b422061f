// VIZ-REAL's sky, evaluated at the corners of a coarse screen grid and interpolated: it is
// smooth enough (within 2/255 of per-pixel), and per pixel it would cost as much again.
uniform vec3 u_right;
uniform vec3 u_up;
uniform vec3 u_forward;
uniform vec2 u_tan;    // tangent of the half field of view, across and up
uniform float u_px;    // radians per pixel at the centre of the picture
uniform vec3 u_light;  // unit vector towards the light

in vec2 in_ndc;

out vec3 v_colour;
flat out vec4 v_sun;   // the light's disc: centre in pixels, 1 / radius in pixels, 1 if ahead

const float SUN_RADIUS = 0.02;  // radians

void main() {
    vec3 dir = normalize(u_forward + in_ndc.x * u_tan.x * u_right + in_ndc.y * u_tan.y * u_up);
    v_colour = sky(dir, sky_colour(), u_light);
    // the disc is too small to interpolate: the fragment shader draws it from this
    float ahead = dot(u_light, u_forward);
    vec2 sun = vec2(dot(u_light, u_right) / u_tan.x, dot(u_light, u_up) / u_tan.y) / max(ahead, 1e-3);
    v_sun = vec4((sun * 0.5 + 0.5) * u_resolution, u_px / SUN_RADIUS, step(0.0, ahead));
    gl_Position = vec4(in_ndc, 0.0, 1.0);
}
