//! Files in and out: images (written atomically by the library), the stderr logger.

use std::path::Path;

use omnidewarp::frame::with_image;

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

/// A library error about the output `path`, naming it once.
pub fn output_error(path: &Path, e: omnidewarp::Error) -> Failure {
    match e {
        omnidewarp::Error::Io { .. } => Failure::runtime(e.to_string()),
        e => Failure::runtime(format!("{}: {e}", path.display())),
    }
}

/// Saves an image atomically in the format of its extension (JPEG drops alpha), through
/// the library's [`omnidewarp::output::save_image`]: an existing file is replaced only by
/// a complete one.
pub fn save_image(path: &Path, img: &image::DynamicImage) -> Result<(), Failure> {
    output_format(path)?;
    with_image(img, |frame| {
        omnidewarp::output::save_image(frame, path).map_err(|e| output_error(path, e))
    })
}
