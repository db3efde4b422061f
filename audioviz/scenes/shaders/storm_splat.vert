// VIZ-STORM's cloud field, splatted: each instance is one blob or one lump on a blob's rim, a
// quad over its ellipse that adds its kernel into a low-resolution float texture covering the
// cloud band. Nothing appears or vanishes: weights fade blobs and lumps in and out.
uniform vec4 u_cloud;     // blob radius scale, blob count (fractional), detail 0..1, threshold
uniform float u_span;     // blobs wrap around in x over this width, off screen
uniform float u_drift;    // how far the wind has carried the clouds, world units
uniform vec2 u_lumps;     // rim lumps per blob at the least and at the finest detail

in vec2 in_corner;        // [-1, 1]^2
in vec4 in_blob;          // x0, y0, radius, drift rate
in vec4 in_lump;          // offset from the blob's centre in radii (x, y), size, rank (0: the blob)
in vec2 in_extra;         // phase, blob index

out vec2 v_local;         // position in the ellipse, in radii
flat out vec4 v_kernel;   // weight, 1 / radius in x, 1 / radius in y
flat out vec2 v_shift;    // the offset towards the light, in radii

const float ASPECT = 1.35;  // blobs are wider than tall

void main() {
    float phase = in_extra.x;
    float r = in_blob.z * u_cloud.x * (1.0 + 0.07 * sin(u_clock * 0.37 + phase));
    vec2 c = vec2(in_blob.x + u_drift * in_blob.w,
                  in_blob.y + 0.02 * sin(u_clock * 0.21 + phase * 1.7));
    c.x = mod(c.x + 0.5 * u_span, u_span) - 0.5 * u_span;
    float w = clamp(u_cloud.y - in_extra.y, 0.0, 1.0);
    float rank = in_lump.w;
    if (rank > 0.0) {
        // finer detail: more lumps, each smaller; even the smoothest cloud has a few
        float detail = u_cloud.z;
        w *= clamp(mix(u_lumps.x, u_lumps.y, detail) - (rank - 1.0), 0.0, 1.0) * 0.85;
        c += in_lump.xy * r * vec2(ASPECT, 1.0);
        r *= mix(0.6, 0.34, detail) * in_lump.z;
        c.y += 0.012 * sin(u_clock * 0.9 + phase);  // lumps boil a little
    }
    vec2 radius = r * vec2(ASPECT, 1.0);
    // the quad covers the ellipse and the ellipse moved away from the light (for the shadow)
    vec2 shift = shadow_shift();
    vec2 p = c - 0.5 * shift + in_corner * (radius + 0.5 * abs(shift));
    v_local = (p - c) / radius;
    v_shift = shift / radius;
    v_kernel = vec4(w, 1.0 / radius, 0.0);
    gl_Position = w > 0.0 ? field_clip(p) : vec4(-2.0, -2.0, 0.0, 1.0);
}
