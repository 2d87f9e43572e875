//! Image sequences: numbered file names from a `%d` / `%0Nd` pattern.

use std::path::Path;

/// Image extensions an image sequence may use.
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff"];

/// Whether `path` has an image extension.
pub(super) fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The `(start, end, width)` of the first `%d` / `%0Nd` counter in a pattern.
pub(super) fn counter(pattern: &str) -> Option<(usize, usize, usize)> {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let mut j = i + 1;
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if bytes.get(j) == Some(&b'd') {
                // The digits are ASCII: `i + 1..j` is on character boundaries.
                let width = pattern.get(i + 1..j).and_then(|w| w.parse().ok());
                return Some((i, j + 1, width.unwrap_or(0)));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// `pattern` with its counter replaced by `n`.
pub(super) fn numbered(pattern: &str, n: u64) -> String {
    match counter(pattern) {
        Some((a, b, width)) => format!("{}{n:0width$}{}", &pattern[..a], &pattern[b..]),
        None => pattern.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names() {
        assert_eq!(numbered("f/out_%05d.png", 7), "f/out_00007.png");
        assert_eq!(numbered("x%d.jpg", 12), "x12.jpg");
        assert_eq!(counter("a_%03d_%d.png"), Some((2, 6, 3)));
        assert!(is_image_path(Path::new("a/b.JPG")) && !is_image_path(Path::new("a.mp4")));
    }
}
