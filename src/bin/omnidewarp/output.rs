//! Files in and out: images, atomic writes, the stderr logger.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Failure;

struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && metadata.target().starts_with("omnidewarp")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = record.level().as_str().to_lowercase();
            eprintln!("omnidewarp: {level}: {}", record.args());
        }
    }

    fn flush(&self) {}
}

/// Sends the library's log lines to stderr, one line each.
pub fn init_logger(level: log::LevelFilter) {
    static LOGGER: StderrLogger = StderrLogger;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

/// Image formats we write, from the output's extension.
pub fn output_format(path: &Path) -> Result<image::ImageFormat, Failure> {
    match image::ImageFormat::from_path(path) {
        Ok(f @ (image::ImageFormat::Png | image::ImageFormat::Jpeg)) => Ok(f),
        _ => Err(Failure::usage(format!(
            "{}: unsupported output extension (use .png or .jpg)",
            path.display()
        ))),
    }
}

/// Refuses an output that is the input (same file, or same path).
pub fn check_not_input(input: &Path, output: &Path) -> Result<(), Failure> {
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => input == output,
    };
    if same {
        return Err(Failure::usage(format!(
            "{}: refusing to write over the input",
            output.display()
        )));
    }
    Ok(())
}

/// Reads an image.
pub fn load_image(path: &Path) -> Result<image::DynamicImage, Failure> {
    image::ImageReader::open(path)
        .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?
        .with_guessed_format()
        .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?
        .decode()
        .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))
}

/// A temporary path beside `path` (same folder, so the final rename is atomic).
fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Writes `path` atomically: `write` fills a temporary file beside it, which is renamed over
/// `path` only when everything succeeded; on failure nothing is left behind.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let tmp = temporary_beside(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        let mut writer = std::io::BufWriter::new(file);
        write(&mut writer)?;
        writer
            .flush()
            .and_then(|()| writer.get_ref().sync_all())
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Saves an image atomically in the format of its extension (JPEG drops alpha).
pub fn save_image(path: &Path, img: &image::DynamicImage) -> Result<(), Failure> {
    let format = output_format(path)?;
    let img = match (format, img) {
        (image::ImageFormat::Jpeg, image::DynamicImage::ImageRgba8(_)) => {
            image::DynamicImage::ImageRgb8(img.to_rgb8())
        }
        _ => img.clone(),
    };
    write_atomically(path, |w| {
        img.write_to(w, format)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))
    })
}
