//! The render pipelines, all from the one WGSL module in `shaders/twin.wgsl`.

use std::mem::size_of;

use crate::geometry::{Instance, Vertex};

/// The WGSL source of every pipeline.
pub const SHADER: &str = include_str!("shaders/twin.wgsl");

/// Depth format of every pass (reversed Z: cleared to 0, nearer is larger).
pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

/// Format of the picking target: handle + 1 per pixel.
pub const PICK_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R32Uint;

/// The uniform block (`Globals` in the shader).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Globals {
    /// Projection × view.
    pub view_proj: [[f32; 4]; 4],
    /// Eye position (xyz).
    pub eye: [f32; 4],
    /// Direction towards the sun (xyz) and the ambient share (w).
    pub sun: [f32; 4],
    /// Metres per pixel at 1 m, smallest marker radius (px), see-through opacity,
    /// 1 when the shader must encode sRGB itself.
    pub params: [f32; 4],
    /// Selected handle + 1.
    pub selected: [u32; 4],
}

/// Every pipeline a frame uses.
pub struct Pipelines {
    /// The bind group layout (globals + state texture).
    pub layout: wgpu::BindGroupLayout,
    /// Opaque, lit triangles.
    pub fill: wgpu::RenderPipeline,
    /// Lit triangles drawn as an ordered dither of their pixels (a see-through
    /// shell): a pipeline of its own, so that only these lose the early depth test
    /// that a fragment `discard` costs.
    pub dither: wgpu::RenderPipeline,
    /// See-through triangles drawn over what is there (towns' choropleth).
    pub overlay: wgpu::RenderPipeline,
    /// See-through triangles drawn over everything (underground assets).
    pub xray: wgpu::RenderPipeline,
    /// Building edges (darkened lines).
    pub edges: wgpu::RenderPipeline,
    /// Lines in their own colour (borders).
    pub lines: wgpu::RenderPipeline,
    /// Instanced markers.
    pub markers: wgpu::RenderPipeline,
    /// Picking: triangles writing handle + 1.
    pub pick_fill: wgpu::RenderPipeline,
    /// Picking: markers writing handle + 1.
    pub pick_markers: wgpu::RenderPipeline,
}

const VERTEX_ATTRS: [wgpu::VertexAttribute; 3] =
    wgpu::vertex_attr_array![0 => Float32x3, 1 => Uint32, 2 => Unorm8x4];
const CORNER_ATTRS: [wgpu::VertexAttribute; 1] = wgpu::vertex_attr_array![0 => Float32x3];
const INSTANCE_ATTRS: [wgpu::VertexAttribute; 4] =
    wgpu::vertex_attr_array![1 => Float32x3, 2 => Uint32, 3 => Unorm8x4, 4 => Float32];

fn vertex_layout() -> wgpu::VertexBufferLayout<'static> {
    wgpu::VertexBufferLayout {
        array_stride: size_of::<Vertex>() as u64,
        step_mode: wgpu::VertexStepMode::Vertex,
        attributes: &VERTEX_ATTRS,
    }
}

fn marker_layouts() -> [wgpu::VertexBufferLayout<'static>; 2] {
    [
        wgpu::VertexBufferLayout {
            array_stride: 12,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes: &CORNER_ATTRS,
        },
        wgpu::VertexBufferLayout {
            array_stride: size_of::<Instance>() as u64,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &INSTANCE_ATTRS,
        },
    ]
}

/// How a pipeline treats depth.
#[derive(Clone, Copy)]
enum Depth {
    /// Test and write (opaque surfaces).
    Write,
    /// Test, don't write (see-through over the scene, lines).
    Test,
    /// Neither (drawn over everything).
    Ignore,
}

struct Spec<'a> {
    label: &'a str,
    vs: &'a str,
    fs: &'a str,
    topology: wgpu::PrimitiveTopology,
    depth: Depth,
    blend: Option<wgpu::BlendState>,
    markers: bool,
    format: wgpu::TextureFormat,
    samples: u32,
}

impl Pipelines {
    /// Builds every pipeline for a colour target `format` with `samples` MSAA samples.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat, samples: u32) -> Pipelines {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("twin.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let vis = wgpu::ShaderStages::VERTEX | wgpu::ShaderStages::FRAGMENT;
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("twin globals"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: vis,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::VERTEX,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("twin"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let alpha = Some(wgpu::BlendState::ALPHA_BLENDING);
        let tri = wgpu::PrimitiveTopology::TriangleList;
        let line = wgpu::PrimitiveTopology::LineList;
        let make = |s: Spec| make_pipeline(device, &module, &pl, s);
        let spec = |label, vs, fs, topology, depth, blend, markers| Spec {
            label,
            vs,
            fs,
            topology,
            depth,
            blend,
            markers,
            format,
            samples,
        };
        let pick = |label, vs, markers| Spec {
            label,
            vs,
            fs: "fs_pick",
            topology: tri,
            depth: Depth::Write,
            blend: None,
            markers,
            format: PICK_FORMAT,
            samples: 1,
        };
        Pipelines {
            fill: make(spec(
                "fill",
                "vs_main",
                "fs_main",
                tri,
                Depth::Write,
                None,
                false,
            )),
            dither: make(spec(
                "dither",
                "vs_main",
                "fs_dither",
                tri,
                Depth::Write,
                None,
                false,
            )),
            overlay: make(spec(
                "overlay",
                "vs_main",
                "fs_blend",
                tri,
                Depth::Test,
                alpha,
                false,
            )),
            xray: make(spec(
                "xray",
                "vs_main",
                "fs_blend",
                tri,
                Depth::Ignore,
                alpha,
                false,
            )),
            edges: make(spec(
                "edges",
                "vs_line",
                "fs_edge",
                line,
                Depth::Test,
                None,
                false,
            )),
            lines: make(spec(
                "lines",
                "vs_line",
                "fs_line",
                line,
                Depth::Test,
                None,
                false,
            )),
            markers: make(spec(
                "markers",
                "vs_marker",
                "fs_main",
                tri,
                Depth::Write,
                None,
                true,
            )),
            pick_fill: make(pick("pick fill", "vs_main", false)),
            pick_markers: make(pick("pick markers", "vs_marker", true)),
            layout,
        }
    }
}

fn make_pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    layout: &wgpu::PipelineLayout,
    s: Spec,
) -> wgpu::RenderPipeline {
    let vertex_buffers = if s.markers {
        marker_layouts().to_vec()
    } else {
        vec![vertex_layout()]
    };
    let (write, compare) = match s.depth {
        Depth::Write => (true, wgpu::CompareFunction::Greater),
        Depth::Test => (false, wgpu::CompareFunction::GreaterEqual),
        Depth::Ignore => (false, wgpu::CompareFunction::Always),
    };
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(s.label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some(s.vs),
            compilation_options: Default::default(),
            buffers: &vertex_buffers,
        },
        primitive: wgpu::PrimitiveState {
            topology: s.topology,
            cull_mode: None,
            ..Default::default()
        },
        depth_stencil: Some(wgpu::DepthStencilState {
            format: DEPTH_FORMAT,
            depth_write_enabled: Some(write),
            depth_compare: Some(compare),
            stencil: Default::default(),
            bias: Default::default(),
        }),
        multisample: wgpu::MultisampleState {
            count: s.samples,
            ..Default::default()
        },
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(s.fs),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: s.format,
                blend: s.blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}
