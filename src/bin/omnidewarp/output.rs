//! Files in and out: images (written atomically by the library), the stderr logger.

use std::path::Path;
use std::sync::OnceLock;

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
            eprintln!("omnidewarp: {level}: {}", clean(&record.args().to_string()));
        }
    }

    fn flush(&self) {}
}

/// The secrets of this command line: the credentials and secret query values of every URL
/// in any argument, every `--header` value and secret-looking `--input-option` values.
static SECRETS: OnceLock<Vec<String>> = OnceLock::new();

/// Notes the secrets of the command line `args`, so that no line this process prints
/// repeats them ([`clean`]): whatever the argument (`detect`, `--calib`, `-o`, …) and
/// whatever message quotes it (the library's, clap's, the system's).
pub fn note_secrets(args: &[String]) {
    let mut found = Vec::new();
    let mut header_next = false;
    let mut option_next = false;
    for arg in args {
        let header = if header_next {
            Some(arg.as_str())
        } else {
            arg.strip_prefix("--header=")
        };
        let option = if option_next {
            Some(arg.as_str())
        } else {
            arg.strip_prefix("--input-option=")
        };
        header_next = arg == "--header";
        option_next = arg == "--input-option";
        // `--input-option passphrase=…`: a secret by its key.
        if let Some((key, value)) = option.and_then(|o| o.split_once('=')) {
            if omnidewarp::redact::is_secret_key(key) && !value.is_empty() {
                found.push(value.to_owned());
            }
        }
        let headers: Vec<(String, String)> = header
            .map(|h| {
                let (name, value) = h.split_once(':').unwrap_or(("", h));
                vec![(name.trim().to_owned(), value.trim().to_owned())]
            })
            .unwrap_or_default();
        found.extend(omnidewarp::redact::secrets(arg, &headers));
    }
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    let _ = SECRETS.set(found);
}

/// `line` without the command line's secrets ([`note_secrets`]).
pub fn clean(line: &str) -> String {
    match SECRETS.get() {
        Some(secrets) => omnidewarp::redact::scrub(line, secrets),
        None => line.to_owned(),
    }
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
