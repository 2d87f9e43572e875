//! A host application that owns the wgpu device and its own render target, and draws
//! omnidewarp's views inside its own render pass (as a viewer or a UI panel would), headless.
//!
//! The host uploads the camera frame into a texture of its own (as a video decoder would
//! hand one over), lets two dewarpers read it (a virtual PTZ view that pans from frame to
//! frame, and a band panorama strip), draws both in one pass over its background, then
//! checks the result and saves it to `target/embed_wgpu.png`.
//!
//! ```text
//! cargo run --example embed_wgpu
//! ```

use std::path::Path;

use omnidewarp::model::{Calibration, Orientation, Projection, View};
use omnidewarp::{DewarpOptions, GpuDewarper};
use omnidewarp::{gpu, wgpu};

const SIZE: (u32, u32) = (960, 720);
const BACKGROUND: wgpu::Color = wgpu::Color {
    r: 0.1,
    g: 0.2,
    b: 0.3,
    a: 1.0,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The host's device: any adapter, its real limits.
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))?;
    println!("host adapter: {}", adapter.get_info().name);
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("host"),
        required_limits: adapter.limits(),
        ..Default::default()
    }))?;

    // The host's camera texture.
    let calibration = Calibration::load(Path::new("assets/opencv_sample/sample_mei_calib.toml"))?;
    let image = image::open("assets/opencv_sample/sample.jpg")?.to_rgba8();
    let camera = gpu::create_texture_2d(
        &device,
        "camera frame",
        image.dimensions(),
        wgpu::TextureFormat::Rgba8Unorm,
        1,
        // COPY_SRC: with anti-aliasing omnidewarp copies it into a mipmapped texture.
        wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::COPY_SRC
            | wgpu::TextureUsages::COPY_DST,
    );
    queue.write_texture(
        camera.as_image_copy(),
        &image,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(image.width() * 4),
            rows_per_image: None,
        },
        camera.size(),
    );

    // The host's own render target (sRGB, as a swapchain would be).
    let format = wgpu::TextureFormat::Rgba8UnormSrgb;
    let target = gpu::create_texture_2d(
        &device,
        "host target",
        SIZE,
        format,
        1,
        wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
    );
    let target_view = target.create_view(&Default::default());

    let band = calibration.elevation_range();
    let mut ptz_view = View::new(
        Projection::Perspective {
            fov: 100f64.to_radians(),
        },
        Orientation {
            yaw: 0.0,
            pitch: (-15f64).to_radians(),
            roll: 0.0,
        },
        640,
        480,
    )?;
    let strip = View::new(
        Projection::Equirect {
            top: band.max,
            bottom: band.min,
        },
        Orientation::default(),
        920,
        200,
    )?;
    let options = DewarpOptions::default();
    let mut ptz =
        GpuDewarper::with_device(&device, &queue, calibration.clone(), ptz_view, options)?;
    let mut panorama = GpuDewarper::with_device(&device, &queue, calibration, strip, options)?;
    let (ptz_at, strip_at) = ([160, 10], [20, 505]);

    // A few frames of the host's loop: pan the PTZ view, draw both views in the host's pass.
    for frame in 0..4 {
        ptz_view.orientation.yaw = f64::from(frame) * 20f64.to_radians();
        ptz.set_view(ptz_view)?;
        for dewarper in [&mut ptz, &mut panorama] {
            dewarper.set_source_texture(&camera)?;
            dewarper.prepare(format, 1)?;
        }
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("host pass"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target_view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(BACKGROUND),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            // ... the host's own drawing would go here ...
            ptz.draw(&mut pass, ptz_at)?;
            panorama.draw(&mut pass, strip_at)?;
        }
        queue.submit([encoder.finish()]);
    }

    // Check and save what the host's texture holds (read back as RGBA8 by the library's
    // one readback).
    let frame = gpu::read_texture(&device, &queue, &target)?;
    let pixels = frame.plane(0);
    let at = |x: u32, y: u32| &pixels[((y * SIZE.0 + x) * 4) as usize..][..4];
    let background = at(5, 5).to_vec();
    let inside = |(x0, y0): (u32, u32), view: &View| {
        let mut differs = 0usize;
        for y in y0..y0 + view.height {
            for x in x0..x0 + view.width {
                differs += usize::from(at(x, y) != background.as_slice());
            }
        }
        differs as f64 / f64::from(view.width * view.height)
    };
    let ptz_cover = inside((ptz_at[0], ptz_at[1]), &ptz_view);
    let strip_cover = inside((strip_at[0], strip_at[1]), &strip);
    println!(
        "background {background:?}; {:.1} % of the PTZ view and {:.1} % of the strip drawn",
        100.0 * ptz_cover,
        100.0 * strip_cover
    );
    if ptz_cover < 0.9 || strip_cover < 0.5 || at(SIZE.0 - 5, SIZE.1 - 5) != background.as_slice() {
        return Err("the views are not where the host asked for them".into());
    }
    std::fs::create_dir_all("target")?;
    omnidewarp::output::save_image(&frame.frame(), Path::new("target/embed_wgpu.png"))?;
    println!("saved target/embed_wgpu.png");
    Ok(())
}
