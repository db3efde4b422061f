// VIZ-STORM's clouds, shaded at the cloud field's low resolution: light varies slowly across a
// cloud, so only the edge needs full resolution (storm_cloud.frag). One quad over the texture.
uniform vec4 u_cloud;     // blob radius scale, blob count, detail, threshold
uniform float u_drift;    // how far the wind has carried the clouds, world units

in vec2 in_corner;

out vec2 v_p;             // world position
out vec2 v_noise_uv;
flat out vec2 v_shape;    // threshold, cloud base y
flat out vec4 v_light;    // flash brightness, flash x, top of the band, -
flat out vec3 v_grade;
flat out vec2 v_noise;    // noise amplitude in field units, and of its gradient

const float NOISE_TILE = 1.0;  // world units per repeat of the noise texture

void main() {
    v_p = vec2(in_corner.x * u_half.x, mix(u_layout.z, u_layout.w, in_corner.y * 0.5 + 0.5));
    v_shape = vec2(u_cloud.w, u_layout.y);
    v_light = vec4(u_flash.xy, u_layout.w, 0.0);
    v_grade = u_grade;
    // the noise drifts with the clouds; finer detail makes it stronger. Its gradient is much
    // steeper than the blobs', so it tilts the normal only gently
    v_noise_uv = (v_p - vec2(u_drift, 0.0)) / NOISE_TILE;
    float amplitude = u_cloud.w * mix(0.1, 0.18, u_cloud.z);
    v_noise = vec2(amplitude, 0.3 * amplitude / NOISE_TILE);
    gl_Position = vec4(in_corner, 0.0, 1.0);
}
