// A user scene as one fragment shader:  audioviz render song.mp3 --scene examples/my_shader.frag
//
// audioviz sets whichever of these uniforms the shader declares: u_time (seconds), u_resolution
// (pixels), u_dt (seconds per frame), the ten parameters p0 ... p9, each in [0, 1], and the music's
// pulse: u_pulse (1 on the frame of a hit, dying away over a tenth of a second; declaring it says
// the scene uses it) and u_beat (the beat's phase, 0 on a beat rising to 1 at the next). u_time is
// scene time: it runs faster when the music is busy and stands still in silence. ShaderToy's
// iTime, iResolution and mainImage() work too. The comments below name the parameters (for
// `--order`, `extract --mapped` and the README of your scene) and say which matter most.
//
// param p0 ring_radius: radius of the rings
// param p1 ring_width: thickness of the rings
// param p2 hue: base colour
// param p3 hue_spread: how far colours drift from the base colour across the rings
// param p4 glow: brightness of the halo around each ring
// param p5 count: how many rings
// param p6 twist: how much the rings bend into petals
// param p7 spin: rotation of the petals
// param p8 background: brightness of the background
// param p9 vignette: how much the corners darken
// importance p0 p4 p1 p2 p6 p5 p3 p7 p8 p9
#version 330 core

uniform float u_time;
uniform vec2 u_resolution;
uniform float u_pulse;
uniform float p0, p1, p2, p3, p4, p5, p6, p7, p8, p9;

out vec4 frag_color;

vec3 hue_to_rgb(float h) {
    return clamp(abs(mod(h * 6.0 + vec3(0.0, 4.0, 2.0), 6.0) - 3.0) - 1.0, 0.0, 1.0);
}

void main() {
    // the shorter side spans -1 .. 1, whatever the aspect ratio
    vec2 uv = (2.0 * gl_FragCoord.xy - u_resolution) / min(u_resolution.x, u_resolution.y);
    float r = length(uv);
    float a = atan(uv.y, uv.x);
    float petals = 1.0 + 0.25 * p6 * sin(6.0 * a + u_time * (0.2 + 2.0 * p7));
    float rings = 2.0 + 6.0 * p5;  // continuous: a parameter must glide, never jump
    float x = r * petals / (0.35 + 0.6 * p0) * rings;
    float d = abs(fract(x) - 0.5) / rings;              // distance to the nearest ring, in uv units
    float px = 2.0 / min(u_resolution.x, u_resolution.y); // one pixel, in uv units
    float width = 0.004 + 0.03 * p1;
    float line = 1.0 - smoothstep(width - px, width + px, d);  // analytic anti-aliasing
    float halo = (0.15 + 0.85 * p4 + 0.8 * u_pulse) * exp(-d * 40.0) * 0.6;  // a hit flares the halo
    float fade = smoothstep(1.6, 0.2, r);
    vec3 colour = hue_to_rgb(fract(p2 + p3 * 0.4 * r)) * 0.8 + 0.2;
    vec3 background = mix(vec3(0.02, 0.02, 0.05), vec3(0.12, 0.1, 0.16), p8) * (1.0 - 0.4 * r);
    vec3 c = background + colour * (line + halo) * fade;
    // smooth in space and time: per-pixel noise that changes every frame (film grain) is what
    // costs a video encoder the most bits, for a picture that barely looks different
    vec2 corner = gl_FragCoord.xy / u_resolution - 0.5;
    c *= 1.0 - (0.2 + 0.6 * p9) * dot(corner, corner) * 2.0;
    frag_color = vec4(sqrt(clamp(c, 0.0, 1.0)), 1.0);
}
