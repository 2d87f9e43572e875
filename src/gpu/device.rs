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

/// Keeps Mesa's Vulkan device-selection layer quiet where it cannot work: a process whose
/// `XDG_RUNTIME_DIR` is unset (containers, SSH, CI) otherwise gets
/// `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` on stderr twice per
/// Vulkan instance, from the layer's attempt to reach a Wayland compositor. Sets
/// `NODEVICE_SELECT=1` then (the layer's own off switch; adapters are still all listed, and
/// [`headless_device`] picks among them), unless the user asked the layer for a device
/// (`DRI_PRIME`, `MESA_VK_DEVICE_SELECT`) or set `NODEVICE_SELECT` already.
///
/// # Safety
/// It sets an environment variable, with [`std::env::set_var`]'s contract: no other thread
/// may read or write the environment meanwhile. Call it first in `main`, before any thread
/// starts.
pub unsafe fn quiet_device_select_without_runtime_dir() {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let wayland_reachable = set("XDG_RUNTIME_DIR")
        || std::env::var_os("WAYLAND_DISPLAY")
            .is_some_and(|d| std::path::Path::new(&d).is_absolute());
    if wayland_reachable
        || set("NODEVICE_SELECT")
        || set("DRI_PRIME")
        || set("MESA_VK_DEVICE_SELECT")
    {
        return;
    }
    // SAFETY: the caller guarantees no other thread touches the environment (see above).
    unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
}

/// Runs `f` with wgpu's validation, out-of-memory and internal errors (a driver that cannot
/// compile a shader) captured, so that they come back as [`Error::Gpu`] instead of reaching
/// the device's uncaptured-error handler (which panics by default).
pub(crate) fn scoped<T>(
    device: &wgpu::Device,
    what: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
    let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let out = f();
    let validation = pollster::block_on(validation.pop());
    let memory = pollster::block_on(memory.pop());
    let internal = pollster::block_on(internal.pop());
    match validation.or(memory).or(internal) {
        Some(e) => Err(Error::Gpu(format!("{what}: {}", condensed(&e.to_string())))),
        None => out,
    }
}

/// A wgpu error's report on one line: its first lines that say something (a shader
/// compiler's list of candidate overloads after them is left out, counted).
fn condensed(report: &str) -> String {
    const KEPT: usize = 3;
    let lines: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        .collect();
    let mut text = lines
        .iter()
        .take(KEPT)
        .copied()
        .collect::<Vec<_>>()
        .join(": ");
    if lines.len() > KEPT {
        text += &format!(" (and {} more lines)", lines.len() - KEPT);
    }
    text
}

/// Waits until the device is idle.
pub(crate) fn wait(device: &wgpu::Device) -> Result<()> {
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map(|_| ())
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))
}

#[cfg(test)]
mod tests {
    use super::condensed;

    #[test]
    fn a_shader_compiler_report_fits_on_one_line() {
        let report = "Validation Error\n\nCaused by:\n  In Device::create_render_pipeline\n    \
                      Internal error: no matching function; candidates are:\nint f(int)\n\
                      int f(uint)\n";
        let line = condensed(report);
        assert_eq!(
            line,
            "Validation Error: In Device::create_render_pipeline: Internal error: no matching \
             function; candidates are: (and 2 more lines)"
        );
        assert_eq!(condensed("Out of memory"), "Out of memory");
    }
}
