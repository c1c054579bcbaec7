// twin-render's one shader module: filled layers, lines, markers and the picking pass.
//
// Every vertex and instance carries its asset handle. The asset's live colour is read
// from the state texture (one RGBA8 texel per handle, rows of `textureDimensions.x`)
// in the vertex stage, so a state change is a texel upload, never a mesh rebuild.
// textureLoad in the vertex stage and unsigned vertex attributes are in WebGL2 too.

struct Globals {
    view_proj: mat4x4<f32>,
    // xyz: the eye in the local frame (m).
    eye: vec4<f32>,
    // xyz: unit vector towards the sun; w: ambient share of the light.
    sun: vec4<f32>,
    // x: metres per pixel at one metre's distance; y: smallest marker radius in pixels;
    // z: opacity of see-through layers; w: 1 when the target is not sRGB (encode here).
    params: vec4<f32>,
    // x: selected handle + 1 (0: none).
    selected: vec4<u32>,
};

@group(0) @binding(0) var<uniform> g: Globals;
@group(0) @binding(1) var state: texture_2d<f32>;

struct VertexIn {
    @location(0) pos: vec3<f32>,
    @location(1) handle: u32,
    @location(2) color: vec4<f32>,
};

struct MarkerIn {
    @location(0) corner: vec3<f32>,
    @location(1) pos: vec3<f32>,
    @location(2) handle: u32,
    @location(3) color: vec4<f32>,
    @location(4) radius: f32,
};

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) world: vec3<f32>,
    @location(1) @interpolate(flat) handle: u32,
    @location(2) color: vec4<f32>,
};

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    return select(pow((c + 0.055) / 1.055, vec3(2.4)), c / 12.92, c <= vec3(0.04045));
}

fn linear_to_srgb(c: vec3<f32>) -> vec3<f32> {
    return select(1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, c * 12.92, c <= vec3(0.0031308));
}

// The asset's colour: its base colour (sRGB vertex colour) under its live state colour
// (state alpha = how much the overlay replaces the base), then the selection tint
// (cyan, a colour no standard overlay uses).
fn asset_color(handle: u32, base: vec4<f32>) -> vec4<f32> {
    let width = textureDimensions(state).x;
    let s = textureLoad(state, vec2<u32>(handle % width, handle / width), 0);
    var c = vec4(mix(srgb_to_linear(base.rgb), s.rgb, s.a), max(base.a, s.a));
    if handle + 1u == g.selected.x {
        c = vec4(mix(c.rgb, vec3(0.0, 0.85, 1.0), 0.65), 1.0);
    }
    return c;
}

fn out_color(c: vec3<f32>, a: f32) -> vec4<f32> {
    if g.params.w > 0.5 {
        return vec4(linear_to_srgb(c), a);
    }
    return vec4(c, a);
}

fn vertex(v: VertexIn) -> VsOut {
    var o: VsOut;
    o.clip = g.view_proj * vec4(v.pos, 1.0);
    o.world = v.pos;
    o.handle = v.handle;
    o.color = asset_color(v.handle, v.color);
    return o;
}

@vertex
fn vs_main(v: VertexIn) -> VsOut {
    return vertex(v);
}

// Lines (building edges, borders): pulled a little towards the eye so they win the
// depth test against the faces they lie on (reversed Z: larger is nearer).
@vertex
fn vs_line(v: VertexIn) -> VsOut {
    var o = vertex(v);
    o.clip.z = o.clip.z * 1.002;
    return o;
}

@vertex
fn vs_marker(m: MarkerIn) -> VsOut {
    let dist = distance(g.eye.xyz, m.pos);
    // At least `params.y` pixels wide, but never inflated past 20 times the real size,
    // so a district-wide view shows where sensors are without burying the map.
    let r = clamp(g.params.x * dist * g.params.y, m.radius, 20.0 * m.radius);
    let world = m.pos + m.corner * r;
    var o: VsOut;
    o.clip = g.view_proj * vec4(world, 1.0);
    o.world = world;
    o.handle = m.handle;
    o.color = asset_color(m.handle, m.color);
    return o;
}

// Flat shading from screen-space derivatives: one normal per face, so walls facing
// different ways differ in brightness and building edges read without extra vertices.
fn lit(c: vec3<f32>, world: vec3<f32>) -> vec3<f32> {
    var n = normalize(cross(dpdx(world), dpdy(world)));
    if dot(n, g.eye.xyz - world) < 0.0 {
        n = -n;
    }
    let diffuse = max(dot(n, g.sun.xyz), 0.0);
    return c * (g.sun.w + (1.0 - g.sun.w) * diffuse);
}

@fragment
fn fs_main(i: VsOut) -> @location(0) vec4<f32> {
    return out_color(lit(i.color.rgb, i.world), 1.0);
}

// The 4x4 ordered-dither thresholds (Bayer), as module constants.
const BAYER: array<f32, 16> = array<f32, 16>(0.0, 8.0, 2.0, 10.0, 12.0, 4.0, 14.0, 6.0,
                                             3.0, 11.0, 1.0, 9.0, 15.0, 7.0, 13.0, 5.0);

// Screen-door transparency for a see-through shell (a building model's walls and
// roof, drawn by the `dither` pipeline with a base alpha below 1): the pattern keeps
// that share of its pixels, so the rooms behind show through the holes with no
// sorting and no blending (the same in WebGL2). The colour is lit before the discard,
// while the whole quad still computes its derivatives.
@fragment
fn fs_dither(i: VsOut) -> @location(0) vec4<f32> {
    let c = lit(i.color.rgb, i.world);
    let p = vec2<u32>(u32(i.clip.x) % 4u, u32(i.clip.y) % 4u);
    if (BAYER[p.y * 4u + p.x] + 0.5) / 16.0 >= i.color.a {
        discard;
    }
    return out_color(c, 1.0);
}

// See-through layers (towns' choropleth, underground): the colour's alpha times the
// layer opacity.
@fragment
fn fs_blend(i: VsOut) -> @location(0) vec4<f32> {
    return out_color(i.color.rgb, i.color.a * g.params.z);
}

@fragment
fn fs_edge(i: VsOut) -> @location(0) vec4<f32> {
    return out_color(i.color.rgb * 0.45, 1.0);
}

@fragment
fn fs_line(i: VsOut) -> @location(0) vec4<f32> {
    return out_color(i.color.rgb, 1.0);
}

// Picking: the handle + 1 of the nearest surface (0 where nothing is drawn).
@fragment
fn fs_pick(i: VsOut) -> @location(0) u32 {
    return i.handle + 1u;
}
