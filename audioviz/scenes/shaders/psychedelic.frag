// The psychedelic scene's fine detail, per pixel: the two waves, read as a draped sheet of shot
// silk in a soft light, and coloured in HSL along the folds.
in vec4 v_wave;
in vec4 v_grad;
in vec4 v_point;
flat in vec4 v_style;  // chroma, lightness, hue spread along the bands, accent hue

out vec4 frag;

const float FOLD = 1.2;                          // how steep the folds stand
const vec3 LIGHT = vec3(-0.451, 0.551, 0.702);   // towards a soft light, above left (unit)
const vec3 HALFWAY = vec3(-0.245, 0.299, 0.922); // between the light and the eye, for the glint
const vec2 WEAVE = vec2(0.8, 0.6);               // folds sloping this way turn to the accent hue

// sin() and cos() to about 0.001 in a few multiply-adds, sharing one range reduction, where
// llvmpipe's reduce the range and evaluate a polynomial apiece (about 5% of the frame more):
// a parabola per half turn, refined once.
vec2 parabola(vec2 u) {  // u in turns, in [-0.5, 0.5)
    vec2 y = 8.0 * u - 16.0 * u * abs(u);
    return y + 0.225 * (y * abs(y) - y);
}

void sincos(vec2 x, out vec2 s, out vec2 c) {
    vec2 u = x * 0.15915494;
    u -= floor(u + 0.5);
    s = parabola(u);
    c = parabola(u + 0.25 - step(0.25, u));
}

// hsl2rgb() for a frame's fixed saturation and lightness, whose chroma, S * (1 - |2L - 1|),
// psychedelic.vert works out once: per pixel, hsl2rgb() cost about 4% of the frame more.
vec3 hue_to_rgb(float hue, float chroma, float light) {
    vec3 ramp = abs(fract(hue + vec3(0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0;
    ramp = clamp(ramp, 0.0, 1.0);
    return light + chroma * (ramp - 0.5);
}

// smoothstep() over a fixed edge, given as t = x * scale + offset: the built-in's general form,
// a division by the edge's width, cost about 3% of the frame more here.
float ease(float x, float scale, float offset) {
    float t = clamp(x * scale + offset, 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

void main() {
    mat2 grad = mat2(v_grad);
    vec2 sp, cp;
    // the phase, second-order exact across a cell: see psychedelic.vert
    sincos(v_wave.xy + v_point.xy * grad, sp, cp);
    float h = dot(sp, v_wave.zw);  // the sheet's height, in about [-1, 1]
    // its slope, analytically, per unit of the wavenumber
    vec2 g = FOLD * (grad * (cp * v_wave.zw));

    // Shot silk: folds sloping one way turn towards the accent hue. Turning the hue, rather than
    // mixing in a second colour, keeps the blend between the two as vivid as either.
    float accent = v_style.w * ease(dot(g, WEAVE), 1.0 / 0.6, 0.5);  // slopes -0.3 .. 0.3
    vec3 col = hue_to_rgb(v_point.z + v_style.z * h + accent, v_style.x, v_style.y);
    col = srgb_to_linear(col * (0.85 + 0.3 * h));  // crests lighter, troughs deeper
    vec3 n = normalize(vec3(-g, 1.0));
    // wrapped far past the terminator, so steep folds turn dim rather than black; 1 where flat
    float diffuse = 0.15 + 0.85 * max(dot(n, LIGHT) + 0.5, 0.0) / (LIGHT.z + 0.5);
    float glint = max(dot(n, HALFWAY), 0.0);
    glint *= glint; glint *= glint; glint *= glint; glint *= glint; glint *= glint;  // ^32
    float depth = 0.6 + 0.4 * ease(h, 1.0 / 1.2, 0.75);  // troughs sink into shadow: h -0.9 .. 0.3
    col = col * depth * diffuse + 0.5 * v_style.y * v_point.w * glint;
    frag = finish(col, gl_FragCoord.xy);
#ifdef CLEAR_TROUGHS
    // no background: the crests are opaque, the troughs clear (h -0.2 .. 0.2), premultiplied
    frag *= ease(h, 1.0 / 0.4, 0.5);
#endif
}
