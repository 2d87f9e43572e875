//! The WGSL sources, assembled from `shaders/`: shared files first, then the pipeline's own.

/// The uniform block (structs, constants, binding). Keep in sync with `src/gpu/config.rs`.
#[cfg(test)]
pub(crate) const CONFIG_WGSL: &str = include_str!("../../shaders/config.wgsl");

/// The dewarp pipeline (`vs_main`; `fs_main` for RGBA, `fs_luma` + `fs_chroma` for I420,
/// `fs_probe` for tests) with its shared math.
pub(crate) const DEWARP_WGSL: &str = concat!(
    include_str!("../../shaders/config.wgsl"),
    include_str!("../../shaders/model.wgsl"),
    include_str!("../../shaders/projection.wgsl"),
    include_str!("../../shaders/map.wgsl"),
    include_str!("../../shaders/sample.wgsl"),
    include_str!("../../shaders/dewarp.wgsl"),
);

/// The mip pipeline (`vs_main`, `fs_main`): 2×2 integer box downsampling.
pub(crate) const MIPMAP_WGSL: &str = include_str!("../../shaders/mipmap.wgsl");

#[cfg(test)]
mod tests {
    use wgpu::naga;

    use super::*;

    fn validate(name: &str, source: &str) -> naga::Module {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
        module
    }

    fn entry_points(module: &naga::Module) -> Vec<&str> {
        module
            .entry_points
            .iter()
            .map(|e| e.name.as_str())
            .collect()
    }

    #[test]
    fn config_wgsl_validates() {
        validate("config.wgsl", CONFIG_WGSL);
    }

    #[test]
    fn dewarp_wgsl_validates() {
        let module = validate("dewarp pipeline", DEWARP_WGSL);
        assert_eq!(
            entry_points(&module),
            ["vs_main", "fs_main", "fs_probe", "fs_luma", "fs_chroma"]
        );
    }

    #[test]
    fn mipmap_wgsl_validates() {
        let module = validate("mipmap.wgsl", MIPMAP_WGSL);
        assert_eq!(entry_points(&module), ["vs_main", "fs_main"]);
    }
}
