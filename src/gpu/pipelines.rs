//! Shader modules, layouts and the render pipelines made from them (one per target format).

use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;

use super::config::Variant;
use super::device::scoped;
use super::shaders::{DEWARP_WGSL, MIPMAP_WGSL};
use crate::Result;

/// The dewarp bind group: the uniform block and three source planes.
pub(crate) const DEWARP_PLANES: u32 = 3;

/// Which fragment entry point of the dewarp shader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Entry {
    /// The output colour.
    Dewarp,
    /// The mapping alone (tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Probe,
    /// The Y plane of an I420 output (R8, view-sized).
    Luma,
    /// The U and V planes of an I420 output (RG8, half the view's size rounded up).
    Chroma,
}

impl Entry {
    /// The fragment entry point in `shaders/dewarp.wgsl`.
    fn name(self) -> &'static str {
        match self {
            Entry::Dewarp => "fs_main",
            Entry::Probe => "fs_probe",
            Entry::Luma => "fs_luma",
            Entry::Chroma => "fs_chroma",
        }
    }

    /// The size this entry draws for a view of `view` pixels.
    pub fn size(self, (w, h): (u32, u32)) -> (u32, u32) {
        match self {
            Entry::Chroma => (w.div_ceil(2), h.div_ceil(2)),
            _ => (w, h),
        }
    }
}

/// What a dewarp pipeline is built for: target format and sample count, entry point, and the
/// shader's pipeline constants.
pub(crate) type PipelineKey = (wgpu::TextureFormat, u32, Entry, Variant);

/// Everything compiled once per dewarper (pipelines: once per key, on first use).
#[derive(Debug)]
pub(crate) struct Pipelines {
    dewarp_module: wgpu::ShaderModule,
    mip_module: wgpu::ShaderModule,
    pub dewarp_group_layout: wgpu::BindGroupLayout,
    dewarp_layout: wgpu::PipelineLayout,
    pub mip_group_layout: wgpu::BindGroupLayout,
    mip_layout: wgpu::PipelineLayout,
    dewarp: HashMap<PipelineKey, wgpu::RenderPipeline>,
    mip: HashMap<wgpu::TextureFormat, wgpu::RenderPipeline>,
}

fn texture_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

impl Pipelines {
    pub fn new(device: &wgpu::Device) -> Self {
        let dewarp_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("omnidewarp dewarp"),
            source: wgpu::ShaderSource::Wgsl(DEWARP_WGSL.into()),
        });
        let mip_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("omnidewarp mipmap"),
            source: wgpu::ShaderSource::Wgsl(MIPMAP_WGSL.into()),
        });
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: wgpu::BufferSize::new(
                    size_of::<super::config::DewarpConfig>() as u64
                ),
            },
            count: None,
        }];
        entries.extend((1..=DEWARP_PLANES).map(texture_entry));
        let dewarp_group_layout =
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("omnidewarp dewarp"),
                entries: &entries,
            });
        let dewarp_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("omnidewarp dewarp"),
            bind_group_layouts: &[Some(&dewarp_group_layout)],
            immediate_size: 0,
        });
        let mip_group_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("omnidewarp mipmap"),
            entries: &[texture_entry(0)],
        });
        let mip_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("omnidewarp mipmap"),
            bind_group_layouts: &[Some(&mip_group_layout)],
            immediate_size: 0,
        });
        Self {
            dewarp_module,
            mip_module,
            dewarp_group_layout,
            dewarp_layout,
            mip_group_layout,
            mip_layout,
            dewarp: HashMap::new(),
            mip: HashMap::new(),
        }
    }

    /// The dewarp pipeline for `key` (built on first use; one the driver refuses is an
    /// error and is not kept).
    pub fn dewarp(
        &mut self,
        device: &wgpu::Device,
        key: PipelineKey,
    ) -> Result<&wgpu::RenderPipeline> {
        let (module, layout) = (&self.dewarp_module, &self.dewarp_layout);
        match self.dewarp.entry(key) {
            Slot::Occupied(built) => Ok(built.into_mut()),
            Slot::Vacant(slot) => {
                let (format, samples, entry, variant) = key;
                let [a, b, c, d] = variant.constants();
                let srgb = ("output_srgb", if format.is_srgb() { 1.0 } else { 0.0 });
                let constants = [a, b, c, d, srgb];
                let pipeline = full_screen_pipeline(
                    device,
                    "omnidewarp dewarp",
                    (module, layout),
                    entry.name(),
                    &constants,
                    (format, samples),
                )?;
                Ok(slot.insert(pipeline))
            }
        }
    }

    /// The dewarp pipeline already built for `key`.
    pub fn built(&self, key: &PipelineKey) -> Option<&wgpu::RenderPipeline> {
        self.dewarp.get(key)
    }

    /// The mip pipeline for textures of `format` (built on first use, kept only when the
    /// driver accepts it).
    pub fn mip(
        &mut self,
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
    ) -> Result<&wgpu::RenderPipeline> {
        let (module, layout) = (&self.mip_module, &self.mip_layout);
        match self.mip.entry(format) {
            Slot::Occupied(built) => Ok(built.into_mut()),
            Slot::Vacant(slot) => {
                let pipeline = full_screen_pipeline(
                    device,
                    "omnidewarp mipmap",
                    (module, layout),
                    "fs_main",
                    &[],
                    (format, 1),
                )?;
                Ok(slot.insert(pipeline))
            }
        }
    }
}

/// A pipeline that draws one full-screen triangle (`vs_main`) with fragment entry `entry`
/// and pipeline `constants` into one unblended colour target of `format` with `samples`
/// samples: the shape of both of our pipelines. One the driver refuses (a shader it cannot
/// compile) is an error.
fn full_screen_pipeline(
    device: &wgpu::Device,
    label: &str,
    (module, layout): (&wgpu::ShaderModule, &wgpu::PipelineLayout),
    entry: &str,
    constants: &[(&str, f64)],
    (format, samples): (wgpu::TextureFormat, u32),
) -> Result<wgpu::RenderPipeline> {
    let descriptor = wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState {
            count: samples,
            ..Default::default()
        },
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    };
    scoped(device, &format!("building the {label} pipeline"), || {
        Ok(device.create_render_pipeline(&descriptor))
    })
}
