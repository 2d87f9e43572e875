//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in omnidewarp.
///
/// Variants carry enough context (file, key, parameter) for a one-line message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A model or view parameter is out of its domain (NaN, negative radius, …).
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Parameter name as it appears in calibration files or the API.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A calibration file could not be read or understood.
    #[error("{}: {}{reason}", path.display(), key.as_ref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
    CalibrationFile {
        /// The file.
        path: PathBuf,
        /// The offending key, when one is to blame.
        key: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// A frame's buffer does not match its declared size, stride or format.
    #[error("bad frame layout: {0}")]
    FrameLayout(String),
    /// The output buffer does not match what the view needs.
    #[error("bad output buffer: {0}")]
    OutputLayout(String),
    /// An image could not be decoded or encoded.
    #[error("image: {0}")]
    Image(#[from] image::ImageError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system error.
        source: std::io::Error,
    },
    /// Ring auto-detection found no mirror ring in the frame(s).
    #[error("no mirror ring found: {reason}")]
    NoRingFound {
        /// Why: what was missing or too weak.
        reason: String,
    },
    /// No usable GPU adapter was found.
    #[error(
        "no GPU adapter found: install your GPU's Vulkan driver or Mesa's software one \
         (Debian/Ubuntu: apt install mesa-vulkan-drivers libvulkan1), or use the CPU backend \
         ({0})"
    )]
    NoGpu(String),
    /// The GPU backend failed.
    #[error("GPU: {0}")]
    Gpu(String),
    /// A video input, decoder, encoder or output failed (feature `video`). The message names
    /// the input or output with any credentials redacted.
    #[error("video: {0}")]
    Video(String),
    /// A cancel flag (Ctrl-C, SIGTERM: [`crate::output::interrupt_flag`]) stopped the work
    /// before it produced anything; nothing was written.
    #[error("interrupted before any output was written")]
    Interrupted,
    /// The interrupt (Ctrl-C, SIGTERM) handler could not be installed.
    #[error("cannot install the interrupt handler: {0}")]
    Signal(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for [`Error::InvalidParameter`].
pub(crate) fn invalid(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Parses one of `names` (any case, `_` for `-`) into the value at the same index of `values`; anything
/// else is an [`Error::InvalidParameter`] for `what` that lists the names.
pub(crate) fn parse_name<T: Copy>(what: &str, names: &[&str], values: &[T], s: &str) -> Result<T> {
    let wanted = s.to_ascii_lowercase().replace('_', "-");
    names
        .iter()
        .position(|n| *n == wanted)
        .and_then(|i| values.get(i).copied())
        .ok_or_else(|| {
            invalid(
                what,
                format!("expected one of {}; got `{s}`", names.join(", ")),
            )
        })
}
