//! The GPU backend's API as an embedder uses it: rendering into the caller's target or the
//! caller's render pass, a caller's texture as the source, readback into odd widths and
//! padded rows, view and frame-size changes, errors instead of panics, and the backend
//! choice (including what happens without any adapter, in a child process).
#![cfg(feature = "gpu")]

mod gpu_common;

use omnidewarp::model::{Orientation, Projection, View};
use omnidewarp::wgpu;
use omnidewarp::{
    Backend, DewarpOptions, Dewarper, Error, Frame, FrameMut, GpuDewarper, PixelFormat, PlaneMut,
};

const MAGENTA: [u8; 4] = [255, 0, 255, 255];

struct Fixture {
    device: wgpu::Device,
    queue: wgpu::Queue,
    case: gpu_common::Case,
    frame: Vec<u8>,
    view: View,
}

fn fixture() -> Option<Fixture> {
    let (device, queue) = gpu_common::device()?;
    let case = gpu_common::ring();
    let frame = gpu_common::mirror_frame(&case);
    let view = gpu_common::views(&case)[2].1; // perspective, 121×91
    Some(Fixture {
        device,
        queue,
        case,
        frame,
        view,
    })
}

impl Fixture {
    fn frame(&self) -> Frame<'_> {
        Frame::packed(
            PixelFormat::Rgba8,
            self.case.frame.0,
            self.case.frame.1,
            &self.frame,
        )
        .unwrap()
    }

    fn dewarper(&self, options: DewarpOptions) -> GpuDewarper {
        GpuDewarper::with_device(
            &self.device,
            &self.queue,
            self.case.calibration.clone(),
            self.view,
            options,
        )
        .unwrap()
    }

    /// The view dewarped through the readback path.
    fn readback(&self, gpu: &mut GpuDewarper, frame: &Frame<'_>) -> Vec<u8> {
        let view = *gpu.view();
        let mut out = vec![0u8; (view.width * view.height * 4) as usize];
        gpu.dewarp(
            frame,
            &mut FrameMut::packed(PixelFormat::Rgba8, view.width, view.height, &mut out).unwrap(),
        )
        .unwrap();
        out
    }

    fn target(&self, format: wgpu::TextureFormat, size: (u32, u32)) -> wgpu::Texture {
        let data: Vec<u8> = MAGENTA
            .iter()
            .copied()
            .cycle()
            .take((size.0 * size.1 * 4) as usize)
            .collect();
        gpu_common::texture_with(
            &self.device,
            &self.queue,
            format,
            size,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            &data,
        )
    }
}

/// The `w × h` rectangle at `origin` of an RGBA image `width` wide, and whether every pixel
/// outside it is `outside`.
fn crop(
    img: &[u8],
    width: u32,
    origin: [u32; 2],
    (w, h): (u32, u32),
    outside: [u8; 4],
) -> (Vec<u8>, bool) {
    let mut inner = Vec::new();
    let mut untouched = true;
    for (k, px) in img.chunks(4).enumerate() {
        let (x, y) = (k as u32 % width, k as u32 / width);
        if x >= origin[0] && y >= origin[1] && x < origin[0] + w && y < origin[1] + h {
            inner.extend_from_slice(px);
        } else {
            untouched &= px == outside;
        }
    }
    (inner, untouched)
}

#[test]
fn render_to_a_callers_target_at_an_origin() {
    let Some(f) = fixture() else { return };
    let mut gpu = f.dewarper(DewarpOptions::default());
    let expected = f.readback(&mut gpu, &f.frame());
    for format in [
        wgpu::TextureFormat::Rgba8Unorm,
        wgpu::TextureFormat::Bgra8Unorm,
        wgpu::TextureFormat::Rgba8UnormSrgb,
    ] {
        let target = f.target(format, (200, 150));
        let view = target.create_view(&Default::default());
        let mut encoder = f.device.create_command_encoder(&Default::default());
        gpu.render_to(&mut encoder, &view, [17, 9]).unwrap();
        f.queue.submit([encoder.finish()]);
        // BGRA comes back as RGBA.
        let got = omnidewarp::gpu::read_texture(&f.device, &f.queue, &target).unwrap();
        assert_eq!(got.format(), PixelFormat::Rgba8);
        let (inner, untouched) = crop(
            got.plane(0),
            200,
            [17, 9],
            (f.view.width, f.view.height),
            MAGENTA,
        );
        assert!(untouched, "{format:?}: pixels outside the view changed");
        let d = gpu_common::diff(&inner, &expected, 4);
        eprintln!("{format:?}: max |Δ| {} vs readback", d.max);
        // sRGB targets store our codes through decode → encode: exact or off by one.
        assert!(d.max <= u8::from(format.is_srgb()), "{format:?}: {d:?}");
    }
}

#[test]
fn draw_inside_the_callers_render_pass() {
    let Some(f) = fixture() else { return };
    let mut gpu = f.dewarper(DewarpOptions::default());
    let expected = f.readback(&mut gpu, &f.frame());
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let target = f.target(format, (300, 100));
    let view = target.create_view(&Default::default());
    gpu.prepare(format, 1).unwrap();
    let mut encoder = f.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("host pass"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLUE),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        gpu.draw(&mut pass, [150, 5]).unwrap();
    }
    f.queue.submit([encoder.finish()]);
    let got = omnidewarp::gpu::read_texture(&f.device, &f.queue, &target).unwrap();
    let (inner, untouched) = crop(
        got.plane(0),
        300,
        [150, 5],
        (f.view.width, f.view.height),
        [0, 0, 255, 255],
    );
    assert!(untouched);
    assert_eq!(gpu_common::diff(&inner, &expected, 4).max, 0);
}

#[test]
fn callers_texture_as_the_source() {
    let Some(f) = fixture() else { return };
    let (w, h) = f.case.frame;
    let bgra: Vec<u8> = f
        .frame
        .chunks(4)
        .flat_map(|p| [p[2], p[1], p[0], p[3]])
        .collect();
    let grey: Vec<u8> = f.frame.chunks(4).map(|p| p[1]).collect();
    for antialias in [false, true] {
        let options = DewarpOptions::default().with_antialias(antialias);
        let mut gpu = f.dewarper(options);
        for (format, data, pixel_format) in [
            (
                wgpu::TextureFormat::Rgba8Unorm,
                &f.frame,
                PixelFormat::Rgba8,
            ),
            (wgpu::TextureFormat::Bgra8Unorm, &bgra, PixelFormat::Rgba8),
            (wgpu::TextureFormat::R8Unorm, &grey, PixelFormat::Gray8),
        ] {
            let usage = wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_SRC;
            let texture =
                gpu_common::texture_with(&f.device, &f.queue, format, (w, h), usage, data);
            let mut got = vec![0u8; (f.view.width * f.view.height * 4) as usize];
            gpu.dewarp_texture(
                &texture,
                &mut FrameMut::packed(PixelFormat::Rgba8, f.view.width, f.view.height, &mut got)
                    .unwrap(),
            )
            .unwrap();
            let frame_data = if pixel_format == PixelFormat::Gray8 {
                &grey
            } else {
                &f.frame
            };
            let frame = Frame::packed(pixel_format, w, h, frame_data).unwrap();
            let expected = f.readback(&mut gpu, &frame);
            assert_eq!(
                gpu_common::diff(&got, &expected, 4).max,
                0,
                "{format:?} antialias={antialias}"
            );
        }
    }
}

#[test]
fn readback_handles_odd_widths_and_padded_rows() {
    let Some(f) = fixture() else { return };
    let mut gpu = f.dewarper(DewarpOptions::default());
    let frame = f.frame();
    for width in [1u32, 3, 63, 65, 257] {
        let view = View::new(
            Projection::Perspective { fov: 1.2 },
            Orientation::default(),
            width,
            7,
        )
        .unwrap();
        gpu.set_view(view).unwrap();
        let tight = f.readback(&mut gpu, &frame);
        let expected = gpu_common::reference(&f.case, &view, gpu.options(), &frame);
        assert!(
            gpu_common::diff(&tight, &expected, 4).max <= 1,
            "width {width}"
        );
        // A caller's buffer with 13 spare bytes per row keeps them.
        let stride = width as usize * 4 + 13;
        let mut padded = vec![7u8; stride * 7];
        gpu.dewarp(
            &frame,
            &mut FrameMut::new(
                PixelFormat::Rgba8,
                width,
                7,
                vec![PlaneMut::new(&mut padded, stride)],
            )
            .unwrap(),
        )
        .unwrap();
        for (j, row) in padded.chunks(stride).enumerate() {
            assert_eq!(
                &row[..width as usize * 4],
                &tight[j * width as usize * 4..][..width as usize * 4]
            );
            assert!(
                row[width as usize * 4..].iter().all(|b| *b == 7),
                "width {width}: padding written"
            );
        }
    }
}

#[test]
fn read_texture_returns_rgba_or_gray_and_refuses_what_it_cannot_read() {
    use omnidewarp::gpu::read_texture;
    let Some(f) = fixture() else { return };
    // 67 texels wide: rows padded to 256 bytes in the copy, tight in the frame.
    let (w, h) = (67u32, 5u32);
    let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
    let copy = wgpu::TextureUsages::COPY_SRC;
    for format in [
        wgpu::TextureFormat::Rgba8Unorm,
        wgpu::TextureFormat::Rgba8UnormSrgb,
        wgpu::TextureFormat::Bgra8Unorm,
        wgpu::TextureFormat::Bgra8UnormSrgb,
    ] {
        let texture = gpu_common::texture_with(&f.device, &f.queue, format, (w, h), copy, &rgba);
        let got = read_texture(&f.device, &f.queue, &texture).unwrap();
        assert_eq!(
            (got.format(), got.width(), got.height()),
            (PixelFormat::Rgba8, w, h)
        );
        let mut expected = rgba.clone();
        if matches!(
            format,
            wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
        ) {
            expected.chunks_mut(4).for_each(|p| p.swap(0, 2));
        }
        assert!(got.plane(0) == expected.as_slice(), "{format:?}");
    }
    let gray = &rgba[..(w * h) as usize];
    let texture = gpu_common::texture_with(
        &f.device,
        &f.queue,
        wgpu::TextureFormat::R8Unorm,
        (w, h),
        copy,
        gray,
    );
    let got = read_texture(&f.device, &f.queue, &texture).unwrap();
    assert_eq!(got.format(), PixelFormat::Gray8);
    assert!(got.plane(0) == gray);

    let no_copy = gpu_common::texture_with(
        &f.device,
        &f.queue,
        wgpu::TextureFormat::Rgba8Unorm,
        (w, h),
        wgpu::TextureUsages::TEXTURE_BINDING,
        &rgba,
    );
    let float = gpu_common::texture_with(
        &f.device,
        &f.queue,
        wgpu::TextureFormat::R32Float,
        (w, h),
        copy,
        &vec![0u8; (w * h * 4) as usize],
    );
    for (what, texture) in [("COPY_SRC", &no_copy), ("R32Float", &float)] {
        match read_texture(&f.device, &f.queue, texture) {
            Err(Error::Gpu(e)) => assert!(e.contains(what), "{e}"),
            other => panic!("{what}: {:?}", other.map(|_| ())),
        }
    }
}

#[test]
fn views_and_frame_sizes_change_between_frames() {
    let Some(f) = fixture() else { return };
    let mut gpu = f.dewarper(DewarpOptions::default());
    let frame = f.frame();
    // A smaller frame of the same camera (aspect kept), then the original again.
    let small_case = gpu_common::Case {
        frame: (129, 126),
        ..gpu_common::ring()
    };
    let small_data = gpu_common::mirror_frame(&small_case);
    let small = Frame::packed(PixelFormat::Rgba8, 129, 126, &small_data).unwrap();
    for (yaw, frame, case) in [
        (0.0, &frame, &f.case),
        (1.0, &small, &small_case),
        (2.0, &frame, &f.case),
    ] {
        let view = View {
            orientation: Orientation {
                yaw,
                ..f.view.orientation
            },
            ..f.view
        };
        gpu.set_view(view).unwrap();
        let got = f.readback(&mut gpu, frame);
        let expected = gpu_common::reference(case, &view, gpu.options(), frame);
        let d = gpu_common::diff(&got, &expected, 4);
        assert!(d.max <= 2 && d.within_1 >= 0.999, "yaw {yaw}: {d:?}");
    }
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let Some(f) = fixture() else { return };
    let mut gpu = f.dewarper(DewarpOptions::default());
    let (vw, vh) = (f.view.width, f.view.height);
    // Nothing to draw yet.
    assert!(matches!(gpu.render(), Err(Error::Gpu(_))));
    // Wrong output size or format.
    let mut small = vec![0u8; 4 * 4 * 4];
    let r = gpu.dewarp(
        &f.frame(),
        &mut FrameMut::packed(PixelFormat::Rgba8, 4, 4, &mut small).unwrap(),
    );
    assert!(matches!(r, Err(Error::OutputLayout(_))), "{r:?}");
    let mut grey = vec![0u8; (vw * vh) as usize];
    let r = gpu.dewarp(
        &f.frame(),
        &mut FrameMut::packed(PixelFormat::Gray8, vw, vh, &mut grey).unwrap(),
    );
    assert!(matches!(r, Err(Error::OutputLayout(_))), "{r:?}");
    // A frame larger than the device allows.
    let max = f.device.limits().max_texture_dimension_2d;
    let wide = vec![0u8; max as usize + 1];
    let r = gpu.upload(&Frame::packed(PixelFormat::Gray8, max + 1, 1, &wide).unwrap());
    assert!(r.is_err(), "{r:?}");
    // Source textures of the wrong format or usage.
    let (w, h) = f.case.frame;
    let float = gpu_common::texture_with(
        &f.device,
        &f.queue,
        wgpu::TextureFormat::Rgba16Float,
        (w, h),
        wgpu::TextureUsages::TEXTURE_BINDING,
        &vec![0u8; (w * h * 8) as usize],
    );
    assert!(matches!(gpu.set_source_texture(&float), Err(Error::Gpu(_))));
    let no_copy = gpu_common::texture_with(
        &f.device,
        &f.queue,
        wgpu::TextureFormat::Rgba8Unorm,
        (w, h),
        wgpu::TextureUsages::TEXTURE_BINDING,
        &f.frame,
    );
    assert!(
        matches!(gpu.set_source_texture(&no_copy), Err(Error::Gpu(_))),
        "AA needs COPY_SRC"
    );
    let no_binding = gpu_common::texture_with(
        &f.device,
        &f.queue,
        wgpu::TextureFormat::Rgba8Unorm,
        (w, h),
        wgpu::TextureUsages::COPY_SRC,
        &f.frame,
    );
    assert!(matches!(
        gpu.set_source_texture(&no_binding),
        Err(Error::Gpu(_))
    ));
    // Targets that cannot take the view.
    gpu.upload(&f.frame()).unwrap();
    let mut encoder = f.device.create_command_encoder(&Default::default());
    let small_target = f.target(wgpu::TextureFormat::Rgba8Unorm, (50, 50));
    let r = gpu.render_to(
        &mut encoder,
        &small_target.create_view(&Default::default()),
        [0, 0],
    );
    assert!(matches!(r, Err(Error::OutputLayout(_))), "{r:?}");
    let not_renderable = gpu_common::texture_with(
        &f.device,
        &f.queue,
        wgpu::TextureFormat::Rgba8Unorm,
        (vw, vh),
        wgpu::TextureUsages::TEXTURE_BINDING,
        &vec![0u8; (vw * vh * 4) as usize],
    );
    let r = gpu.render_to(
        &mut encoder,
        &not_renderable.create_view(&Default::default()),
        [0, 0],
    );
    assert!(matches!(r, Err(Error::Gpu(_))), "{r:?}");
    let uint = f.device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: vw,
            height: vh,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Uint,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
        view_formats: &[],
    });
    let r = gpu.render_to(&mut encoder, &uint.create_view(&Default::default()), [0, 0]);
    assert!(matches!(r, Err(Error::Gpu(_))), "{r:?}");
    drop(encoder);
    // Still usable afterwards.
    let got = f.readback(&mut gpu, &f.frame());
    let expected = gpu_common::reference(&f.case, &f.view, gpu.options(), &f.frame());
    assert!(gpu_common::diff(&got, &expected, 4).psnr > 40.0);
}

#[test]
fn backend_choice() {
    let Some(f) = fixture() else { return };
    let options = DewarpOptions::default();
    let mut outputs = Vec::new();
    // Auto passes over software rasterizers (lavapipe here): the CPU path is faster.
    let software = GpuDewarper::new(f.case.calibration.clone(), f.view, options)
        .unwrap()
        .adapter_info()
        .is_some_and(|info| info.device_type == omnidewarp::wgpu::DeviceType::Cpu);
    for backend in [Backend::Auto, Backend::Gpu, Backend::Cpu] {
        let mut d = Dewarper::new(
            f.case.calibration.clone(),
            f.view,
            options.with_backend(backend),
        )
        .unwrap();
        let expected = match backend {
            Backend::Auto if software => Backend::Cpu,
            Backend::Cpu => Backend::Cpu,
            _ => Backend::Gpu,
        };
        assert_eq!(d.backend(), expected, "{backend}: {}", d.description());
        eprintln!("{backend}: {}", d.description());
        let mut out = vec![0u8; (f.view.width * f.view.height * 4) as usize];
        d.dewarp(
            &f.frame(),
            &mut FrameMut::packed(PixelFormat::Rgba8, f.view.width, f.view.height, &mut out)
                .unwrap(),
        )
        .unwrap();
        outputs.push(out);
    }
    // GPU and CPU (grid fast path) agree.
    let d = gpu_common::diff(&outputs[0], &outputs[2], 4);
    assert!(d.psnr > 40.0, "{d:?}");
}

/// A device on the adapter `headless_device` picks, its 2D textures limited to `max` pixels
/// a side (as a GPU whose limit a frame passes).
fn device_with_texture_limit(max: u32) -> (wgpu::Device, wgpu::Queue) {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .unwrap();
    let required_limits = wgpu::Limits {
        max_texture_dimension_2d: max,
        ..adapter.limits()
    };
    pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_limits,
        ..Default::default()
    }))
    .unwrap()
}

/// A frame past the device's texture limit: a GPU taken under `Backend::Auto` hands over to
/// the CPU (the CPU's very bytes, and for the frames after it), `Backend::Gpu` is an error
/// that names the limit.
#[test]
fn frames_past_the_texture_limit_go_to_the_cpu_under_auto() {
    let Some(f) = fixture() else { return };
    let max = f.case.frame.0 - 1;
    let (device, queue) = device_with_texture_limit(max);
    let (w, h) = (f.view.width, f.view.height);
    let mut expected = vec![0u8; (w * h * 4) as usize];
    let options = DewarpOptions::default();
    omnidewarp::CpuDewarper::new(f.case.calibration.clone(), f.view, options)
        .unwrap()
        .dewarp(
            &f.frame(),
            &mut FrameMut::packed(PixelFormat::Rgba8, w, h, &mut expected).unwrap(),
        )
        .unwrap();
    for backend in [Backend::Auto, Backend::Gpu] {
        let options = options.with_backend(backend);
        let gpu =
            GpuDewarper::with_device(&device, &queue, f.case.calibration.clone(), f.view, options)
                .unwrap();
        let mut d = Dewarper::from(gpu);
        for frame in 0..2 {
            let mut out = vec![0u8; expected.len()];
            let result = d.dewarp(
                &f.frame(),
                &mut FrameMut::packed(PixelFormat::Rgba8, w, h, &mut out).unwrap(),
            );
            if backend == Backend::Auto {
                result.unwrap();
                assert_eq!(d.backend(), Backend::Cpu, "frame {frame}");
                assert!(out == expected, "frame {frame}: not the CPU's picture");
            } else {
                let err = result.unwrap_err();
                assert!(
                    matches!(&err, Error::Gpu(m) if m.contains(&format!("at most {max}×{max}"))),
                    "{err}"
                );
                assert_eq!(d.backend(), Backend::Gpu);
            }
        }
    }
}

/// A GPU dewarper's own device lost (here destroyed, as a driver reset or an unplugged GPU
/// would leave it): under `Backend::Gpu` a new device takes over and gives the same
/// picture; under `Backend::Auto` the CPU does, with the CPU's very bytes. The frame that
/// found the loss is dewarped again, not lost.
#[test]
fn a_lost_device_is_replaced_by_a_new_one_or_the_cpu() {
    let Some(f) = fixture() else { return };
    let (w, h) = (f.view.width, f.view.height);
    let options = DewarpOptions::default();
    let dewarp = |d: &mut Dewarper| {
        let mut out = vec![0u8; (w * h * 4) as usize];
        d.dewarp(
            &f.frame(),
            &mut FrameMut::packed(PixelFormat::Rgba8, w, h, &mut out).unwrap(),
        )
        .map(|()| out)
    };
    let mut cpu = Dewarper::new(
        f.case.calibration.clone(),
        f.view,
        options.with_backend(Backend::Cpu),
    )
    .unwrap();
    let on_cpu = dewarp(&mut cpu).unwrap();
    for backend in [Backend::Gpu, Backend::Auto] {
        let options = options.with_backend(backend);
        let gpu = GpuDewarper::new(f.case.calibration.clone(), f.view, options).unwrap();
        let device = gpu.device().clone();
        let mut d = Dewarper::from(gpu);
        let before = dewarp(&mut d).unwrap();
        device.destroy();
        for frame in 0..2 {
            let after =
                dewarp(&mut d).unwrap_or_else(|e| panic!("{backend:?}, frame {frame}: {e}"));
            if backend == Backend::Gpu {
                assert_eq!(d.backend(), Backend::Gpu);
                assert!(
                    after == before,
                    "frame {frame}: the new device's picture differs"
                );
            } else {
                assert_eq!(d.backend(), Backend::Cpu);
                assert!(after == on_cpu, "frame {frame}: not the CPU's picture");
            }
        }
    }
    // A device the caller owns keeps the caller's lost callback: nothing is replaced.
    let gpu = f.dewarper(options.with_backend(Backend::Gpu));
    assert_eq!(gpu.device_lost(), None);
}

// ---- without any adapter (child processes with WGPU_BACKEND naming a backend this platform
// does not have) ----

const CHILD: &str = "OMNIDEWARP_TEST_CHILD";

/// Runs test `name` of this binary in a child with no usable adapter; its success.
fn run_without_adapter(name: &str, skip_gpu_tests: bool) -> bool {
    let backend = if cfg!(target_os = "macos") {
        "dx12"
    } else {
        "metal"
    };
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--ignored",
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("WGPU_BACKEND", backend)
        .env_remove("OMNIDEWARP_SKIP_GPU_TESTS");
    if skip_gpu_tests {
        command.env("OMNIDEWARP_SKIP_GPU_TESTS", "1");
    }
    let output = command.output().unwrap();
    eprintln!(
        "child {name} (skip={skip_gpu_tests}): {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
            .take(12)
            .collect::<Vec<_>>()
            .join("\n")
    );
    output.status.success()
}

#[test]
fn without_an_adapter() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    assert!(run_without_adapter("child_backends_without_adapter", false));
    // The test helper fails a GPU test that finds no adapter...
    assert!(!run_without_adapter(
        "child_gpu_test_without_adapter",
        false
    ));
    // ...unless told to skip.
    assert!(run_without_adapter("child_gpu_test_without_adapter", true));
}

/// Counts `warn` records.
struct WarnCounter(std::sync::atomic::AtomicUsize);

impl log::Log for WarnCounter {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.level() == log::Level::Warn {
            eprintln!("warn: {}", record.args());
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn flush(&self) {}
}

static WARNINGS: WarnCounter = WarnCounter(std::sync::atomic::AtomicUsize::new(0));

#[test]
#[ignore = "run by `without_an_adapter` in a child process"]
fn child_backends_without_adapter() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    log::set_logger(&WARNINGS).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let case = gpu_common::ring();
    let view = gpu_common::views(&case)[0].1;
    let options = DewarpOptions::default();
    let r = GpuDewarper::new(case.calibration.clone(), view, options);
    assert!(matches!(r, Err(Error::NoGpu(_))), "{r:?}");
    let r = Dewarper::new(
        case.calibration.clone(),
        view,
        options.with_backend(Backend::Gpu),
    );
    assert!(matches!(r, Err(Error::NoGpu(_))), "{r:?}");
    let auto = Dewarper::new(
        case.calibration.clone(),
        view,
        options.with_backend(Backend::Auto),
    )
    .unwrap();
    assert_eq!(auto.backend(), Backend::Cpu);
    // One warning when a hardware GPU is listed but cannot be had; none where the machine
    // lists none, so the CPU is the policy's plain choice and no driver is asked.
    let expected = usize::from(omnidewarp::hardware_gpu_listed());
    assert_eq!(
        WARNINGS.0.load(std::sync::atomic::Ordering::SeqCst),
        expected
    );
}

#[test]
#[ignore = "run by `without_an_adapter` in a child process"]
fn child_gpu_test_without_adapter() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    // A GPU test's first line.
    let Some(_) = gpu_common::device() else {
        return;
    };
    unreachable!("there is no adapter in this child");
}
