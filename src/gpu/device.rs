//! A headless device of our own, and error capture around wgpu calls.

use crate::{Error, Result};

/// A device and queue on the best adapter found, with that adapter's real limits (not
/// WebGPU's defaults: e.g. 16384-pixel textures on lavapipe instead of 8192).
///
/// Honours wgpu's environment variables (`WGPU_BACKEND`, `WGPU_POWER_PREF`,
/// `WGPU_ADAPTER_NAME`). [`Error::NoGpu`] when no adapter exists, [`Error::Gpu`] when the
/// adapter refuses a device.
pub fn headless_device() -> Result<(wgpu::Device, wgpu::Queue, wgpu::AdapterInfo)> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference:
            wgpu::PowerPreference::from_env().unwrap_or(wgpu::PowerPreference::HighPerformance),
        ..Default::default()
    }))
    .map_err(|e| Error::NoGpu(e.to_string()))?;
    let info = adapter.get_info();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("omnidewarp"),
        required_limits: adapter.limits(),
        ..Default::default()
    }))
    .map_err(|e| Error::Gpu(format!("{} ({:?}): {e}", info.name, info.backend)))?;
    Ok((device, queue, info))
}

/// Runs `f` with wgpu's validation and out-of-memory errors captured, so that they come back
/// as [`Error::Gpu`] instead of reaching the device's uncaptured-error handler (which
/// panics by default).
pub(crate) fn scoped<T>(
    device: &wgpu::Device,
    what: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let out = f();
    let validation = pollster::block_on(validation.pop());
    let memory = pollster::block_on(memory.pop());
    match validation.or(memory) {
        Some(e) => Err(Error::Gpu(format!("{what}: {e}"))),
        None => out,
    }
}

/// Waits until the device is idle.
pub(crate) fn wait(device: &wgpu::Device) -> Result<()> {
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map(|_| ())
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))
}
