//! The shader's mapping held against the CPU's exact one, pixel by pixel (positions, lod,
//! validity), for every model and projection. Runs on a real adapter (lavapipe in CI).

#[path = "../../tests/gpu_common/mod.rs"]
mod gpu_common;

use super::GpuDewarper;
use crate::cpu::map::ExactMap;
use crate::options::DewarpOptions;

#[test]
fn shader_mapping_matches_exact_map() {
    let Some((device, queue)) = gpu_common::device() else {
        return;
    };
    let mut worst_position = 0f64;
    let mut worst_lod = 0f64;
    for case in gpu_common::all_models() {
        let scaled = case
            .calibration
            .scaled_to(case.frame.0, case.frame.1)
            .unwrap();
        let map = ExactMap::new(&scaled);
        let frame = vec![0u8; (case.frame.0 * case.frame.1 * 4) as usize];
        let frame = crate::Frame::packed(
            crate::PixelFormat::Rgba8,
            case.frame.0,
            case.frame.1,
            &frame,
        )
        .unwrap();
        for (name, view) in gpu_common::views(&case) {
            let mut gpu = GpuDewarper::with_device(
                &device,
                &queue,
                case.calibration.clone(),
                view,
                DewarpOptions::default(),
            )
            .unwrap();
            gpu.upload(&frame).unwrap();
            let probe = gpu.probe().unwrap();
            let tiles = view.tiles();
            let (mut position, mut lod, mut disagree, mut valid) = (0f64, 0f64, 0usize, 0usize);
            for j in 0..view.height {
                for i in 0..view.width {
                    let g = probe[(j * view.width + i) as usize];
                    let tile = tiles
                        .iter()
                        .find(|t| {
                            i >= t.x0 && j >= t.y0 && i < t.x0 + t.width && j < t.y0 + t.height
                        })
                        .unwrap();
                    let c = map.point(tile, f64::from(i - tile.x0), f64::from(j - tile.y0));
                    match (c, g[3] == 1.0) {
                        (Some(c), true) => {
                            valid += 1;
                            let d = f64::from(c.x - g[0]).hypot(f64::from(c.y - g[1]));
                            position = position.max(d);
                            if c.lod > -10.0 {
                                lod = lod.max(f64::from((c.lod - g[2]).abs()));
                            }
                        }
                        (None, false) => {}
                        (c, _) => {
                            disagree += 1;
                            eprintln!("  {name} ({i}, {j}): cpu {c:?}, gpu {g:?}");
                        }
                    }
                }
            }
            eprintln!(
                "{:>13} {name:>13}: {valid} valid, {disagree} disagree, max |Δp| {position:.2e} px, \
                 max |Δlod| {lod:.2e}",
                case.name
            );
            assert!(
                disagree <= 1,
                "{} {name}: {disagree} pixels disagree on validity",
                case.name
            );
            worst_position = worst_position.max(position);
            worst_lod = worst_lod.max(lod);
        }
    }
    assert!(
        worst_position < 5e-4,
        "max position error {worst_position} px"
    );
    assert!(worst_lod < 1e-3, "max lod error {worst_lod}");
}

/// Reads level `level` of `texture` (tightly packed rows).
fn read_level(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    level: u32,
) -> Vec<u8> {
    let texel = texture.format().block_copy_size(None).unwrap();
    let (w, h) = (
        (texture.width() >> level).max(1),
        (texture.height() >> level).max(1),
    );
    let padded = super::resources::padded_row(w * texel);
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: u64::from(padded * h),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: level,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded),
                rows_per_image: Some(h),
            },
        },
        wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
    );
    queue.submit([encoder.finish()]);
    buffer
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    let data = buffer.slice(..).get_mapped_range().unwrap();
    data.chunks(padded as usize)
        .take(h as usize)
        .flat_map(|row| row[..(w * texel) as usize].to_vec())
        .collect()
}

#[test]
fn gpu_mips_equal_cpu_mips() {
    use crate::cpu::sample::{MipChain, PlaneRef};
    let Some((device, queue)) = gpu_common::device() else {
        return;
    };
    let case = gpu_common::ocam();
    // Noise, so that every rounding shows; odd sizes, so that dropped rows/columns show.
    for (format, channels, (w, h)) in [
        (crate::PixelFormat::Rgba8, 4usize, (257u32, 251u32)),
        (crate::PixelFormat::Gray8, 1, (83, 130)),
    ] {
        let data: Vec<u8> = (0..(w * h) as usize * channels)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let frame = crate::Frame::packed(format, w, h, &data).unwrap();
        let mut gpu = GpuDewarper::with_device(
            &device,
            &queue,
            case.calibration.clone(),
            gpu_common::views(&case)[0].1,
            DewarpOptions::default(),
        )
        .unwrap();
        gpu.upload(&frame).unwrap();
        let mut cpu = MipChain::default();
        let base = PlaneRef {
            data: &data,
            stride: w as usize * channels,
            width: w,
            height: h,
        };
        cpu.rebuild(base, channels);
        let texture = &gpu.source.as_ref().unwrap().planes[0].texture;
        assert_eq!(texture.mip_level_count() as usize, cpu.levels.len() + 1);
        for (k, level) in cpu.levels.iter().enumerate() {
            let got = read_level(&device, &queue, texture, k as u32 + 1);
            assert_eq!(
                (texture.width() >> (k + 1)).max(1),
                level.width,
                "{format:?} level {} width",
                k + 1
            );
            assert!(got == level.data, "{format:?} level {} differs", k + 1);
        }
    }
}
