// Shared by the psychedelic scene's shaders (psychedelic.py prepends it): the two waves.

// Each wave's direction in the pattern, scaled by its wavenumber relative to the density. Half
// a radian apart, they beat into ribbons that part and merge; a third, crossing wave made the
// sheet lumpy rather than draped.
const mat2 WAVES = mat2(1.00 * vec2(0.955, 0.296), 0.77 * vec2(0.697, 0.717));
// The same, each in the other's slot: the swirl bends each wave by the other one.
const mat2 WAVES_SWAPPED = mat2(WAVES[1], WAVES[0]);
