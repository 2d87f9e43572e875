//! A second opinion on JPEG stills: our walk of a baseline file's coded data (`jpeg_scan`),
//! or, for the files it does not walk (progressive…), FFmpeg's MJPEG decoder with error
//! detection on.
//!
//! JPEG has no checksum, and the `image` crate's decoder reads damaged entropy-coded data
//! without a word (bit flips, or a wrong byte count in a segment): the picture comes out
//! partly wrong. The walk finds codes out of step with the blocks the headers describe;
//! FFmpeg's decoder notices some faults (a Huffman code that runs past its segment) when
//! told to treat them as errors.

use ffmpeg_next as ff;

use super::jpeg_scan::Walk;

/// Why the JPEG `bytes` are damaged: their coded data does not walk to the blocks the
/// headers describe (baseline files), or, for other JPEGs, FFmpeg's MJPEG decoder with
/// `err_detect=explode+bitstream+buffer` refuses them; `None` where they are found sound
/// (or nothing has an opinion: FFmpeg cannot be started). Catches most bit flips that spread over the picture, not all: a
/// flip inside a coefficient's value bits keeps every code in step and goes unseen (JPEG
/// carries nothing to check it against).
#[must_use]
pub fn jpeg_damage(bytes: &[u8]) -> Option<String> {
    match super::jpeg_scan::walk(bytes) {
        Walk::Sound => None,
        Walk::Damaged(why) => Some(why),
        // FFmpeg found nothing the walk missed in 400 flipped baseline files: it is asked
        // about the others (progressive, arithmetic-coded…) only.
        Walk::NoOpinion => ffmpeg_damage(bytes),
    }
}

/// FFmpeg's opinion (see [`jpeg_damage`]).
fn ffmpeg_damage(bytes: &[u8]) -> Option<String> {
    super::init().ok()?;
    let codec = ff::decoder::find(ff::codec::Id::MJPEG)?;
    let mut options = ff::Dictionary::new();
    options.set("err_detect", "explode+bitstream+buffer");
    let context = ff::codec::context::Context::new_with_codec(codec);
    let mut decoder = match context.decoder().open_as_with(codec, options) {
        Ok(opened) => opened.video().ok()?,
        Err(_) => return None,
    };
    let packet = ff::Packet::copy(bytes);
    let mut frame = ff::frame::Video::empty();
    let outcome = decoder
        .send_packet(&packet)
        .and_then(|()| decoder.send_eof())
        .and_then(|()| decoder.receive_frame(&mut frame));
    outcome.err().map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::jpeg_damage;

    const SAMPLE: &[u8] = include_bytes!("../../assets/synthetic_ring/ring_1440.jpg");

    #[test]
    fn a_sound_jpeg_passes_and_flipped_coded_data_is_named() {
        assert_eq!(jpeg_damage(SAMPLE), None);
        // Bits flipped in the entropy-coded data (after the start-of-scan marker).
        let scan = SAMPLE.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let mut seen = 0;
        for seed in 0..8u64 {
            let mut damaged = SAMPLE.to_vec();
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = scan + 200 + (x as usize) % (SAMPLE.len() - scan - 210);
                damaged[at] ^= 1 << (x >> 60 & 7);
            }
            seen += usize::from(jpeg_damage(&damaged).is_some());
        }
        // Half are caught with these flips (4 of 8); none is a panic.
        assert!(seen >= 3, "only {seen} of 8 damaged JPEGs were named");
    }

    #[test]
    fn a_cut_progressive_jpeg_is_named_by_ffmpeg() {
        // The walk has no opinion on progressive files: FFmpeg's decoder speaks.
        let progressive = include_bytes!("../../tests/fixtures/jpeg/progressive.jpg");
        assert_eq!(jpeg_damage(progressive), None);
        assert!(jpeg_damage(&progressive[..progressive.len() * 2 / 3]).is_some());
    }
}
