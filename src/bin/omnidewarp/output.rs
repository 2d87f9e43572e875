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

/// Largest image file read: 1 GiB (a 16384² JPEG of noise is about half of that).
const MAX_IMAGE_FILE_BYTES: u64 = 1 << 30;

/// Largest decoded image: [`omnidewarp::model::MAX_IMAGE_SIDE`] a side and 1280 MiB of
/// pixels, so a real 16384×16384 RGBA frame (1 GiB) still opens; more is refused before
/// the decoder allocates it.
const MAX_DECODED_BYTES: u64 = 1280 << 20;

/// Reads an image, with limits on its file size, its sides and its decoded size. A JPEG
/// whose entropy-coded data ends without the end-of-image marker (a file cut short) is
/// decoded, but said in a one-line warning: the decoder greys out what is missing; so is
/// one whose coded data is found damaged (`video::jpeg_damage`).
pub fn load_image(path: &Path) -> Result<image::DynamicImage, Failure> {
    use std::io::Read as _;
    let fail = |e: &dyn std::fmt::Display| Failure::runtime(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    let mut bytes = Vec::new();
    file.take(MAX_IMAGE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(&e))?;
    if bytes.len() as u64 > MAX_IMAGE_FILE_BYTES {
        return Err(fail(&"larger than 1 GiB, the limit for image files"));
    }
    if bytes.is_empty() {
        return Err(fail(&"empty file (0 bytes), not an image"));
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(&bytes[..]))
        .with_guessed_format()
        .map_err(|e| fail(&e))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(omnidewarp::model::MAX_IMAGE_SIDE);
    limits.max_image_height = Some(omnidewarp::model::MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let format = reader.format();
    let img = reader.decode().map_err(|e| fail(&e))?;
    if format == Some(image::ImageFormat::Jpeg) && jpeg_cut_short(&bytes) {
        let rgb = img.to_rgb8();
        let missing = uniform_rows_at_bottom(&rgb);
        let height = rgb.height().max(1);
        // Less than one 16-row block of MCUs decoded: there is no picture to dewarp.
        if missing + 16 >= height {
            return Err(fail(
                &"the JPEG is cut short before any of its picture (header only?)",
            ));
        }
        log::warn!(
            "{}: the JPEG ends before its end-of-image marker (file cut short?): the bottom \
             {:.0} % of the frame is missing (grey)",
            path.display(),
            100.0 * f64::from(missing) / f64::from(height)
        );
    } else if format == Some(image::ImageFormat::Jpeg) {
        #[cfg(feature = "video")]
        if let Some(why) = omnidewarp::video::jpeg_damage(&bytes) {
            log::warn!(
                "{}: the JPEG's coded data is damaged ({why}): parts of the frame may be wrong",
                path.display()
            );
        }
    }
    Ok(img)
}

/// How many rows at the bottom of `img` are one colour, the last pixel's (where a decoder
/// fills what a truncated file lacks).
fn uniform_rows_at_bottom(img: &image::RgbImage) -> u32 {
    let Some(fill) = img.pixels().next_back().copied() else {
        return 0;
    };
    img.rows()
        .rev()
        .take_while(|row| row.clone().all(|p| *p == fill))
        .count() as u32
}

/// Whether a JPEG's last scan has no end-of-image marker (`FF D9`) after it.
fn jpeg_cut_short(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    match last_scan.and_then(|i| bytes.get(i..)) {
        Some(scan) => !scan.windows(2).any(|w| w == [0xFF, 0xD9]),
        None => true,
    }
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
