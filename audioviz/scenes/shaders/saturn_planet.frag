flat in vec3 v_colour;
flat in vec3 v_neighbour[3];
flat in vec3 v_edge[3];
flat in vec3 v_outline;

out vec4 frag;

void main() {
    vec2 p = gl_FragCoord.xy;
    // distance in pixels to each edge, positive inside the face
    vec3 d = vec3(dot(v_edge[0].xy, p) + v_edge[0].z,
                  dot(v_edge[1].xy, p) + v_edge[1].z,
                  dot(v_edge[2].xy, p) + v_edge[2].z);
    // silhouette edges fade to the pixel's coverage, blended over whatever lies behind
    vec3 cover3 = mix(vec3(1.0), clamp(d + 0.5, 0.0, 1.0), v_outline);
    float cover = cover3.x * cover3.y * cover3.z;
    // an inner edge shares its pixels with the face beyond: half and half right on the edge
    vec3 share = (1.0 - v_outline) * clamp(0.5 - d, 0.0, 0.5);
    vec3 c = v_colour;
    c = mix(c, v_neighbour[0], share.x);
    c = mix(c, v_neighbour[1], share.y);
    c = mix(c, v_neighbour[2], share.z);
    frag = finish(c, p) * cover;  // premultiplied alpha
}
