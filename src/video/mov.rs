//! Google's Spherical Video V1 metadata for QuickTime (`.mov`) files: FFmpeg's mov muxer
//! writes `sv3d`/`st3d` in mp4 mode only, so a finished `.mov` gets a `uuid` box holding
//! the V1 RDF/XML inserted into its video track.
//!
//! The rewrite only moves bytes that come after the `moov` box, so it is done only when
//! `moov` follows every `mdat` (FFmpeg's layout without `+faststart`): chunk offsets into
//! the media data stay valid.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::writer::Spherical;

/// The UUID of a Spherical Video V1 box.
const SPHERICAL_V1_UUID: [u8; 16] = [
    0xff, 0xcc, 0x82, 0x63, 0xf8, 0x55, 0x4a, 0x93, 0x88, 0x14, 0x58, 0x7a, 0x02, 0x52, 0x1f, 0xdd,
];

/// The largest `moov` box read into memory.
const MAX_MOOV: u64 = 512 << 20;

/// Boxes after `moov` whose position other boxes record: moving them would break the file.
const POSITIONED: [&[u8; 4]; 4] = [b"mdat", b"moof", b"mfra", b"sidx"];

/// The Spherical Video V1 RDF/XML for an equirectangular frame of `width`×`height` covering
/// 360° of heading and the elevations of `s`. A band that does not reach both poles gets the
/// cropped-area fields placing it in the full panorama.
pub(crate) fn spherical_v1_xml(s: Spherical, width: u32, height: u32) -> String {
    use std::f64::consts::PI;
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><rdf:SphericalVideo \
         xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
         xmlns:GSpherical=\"http://ns.google.com/videos/1.0/spherical/\">\
         <GSpherical:Spherical>true</GSpherical:Spherical>\
         <GSpherical:Stitched>true</GSpherical:Stitched>\
         <GSpherical:StitchingSoftware>omnidewarp</GSpherical:StitchingSoftware>\
         <GSpherical:ProjectionType>equirectangular</GSpherical:ProjectionType>",
    );
    let top = s.top.clamp(-PI / 2.0, PI / 2.0);
    let bottom = s.bottom.clamp(-PI / 2.0, PI / 2.0);
    let span = top - bottom;
    // The same test as the `sv3d` bounds: a crop that rounds to no pixel is no crop.
    let full_height = if span > 0.0 {
        (f64::from(height) * PI / span).round()
    } else {
        f64::from(height)
    };
    let crop_top = (full_height * (PI / 2.0 - top) / PI).round();
    let crop_bottom = (full_height * (bottom + PI / 2.0) / PI).round();
    if crop_top >= 1.0 || crop_bottom >= 1.0 {
        let fields = [
            ("CroppedAreaImageWidthPixels", f64::from(width)),
            ("CroppedAreaImageHeightPixels", f64::from(height)),
            ("FullPanoWidthPixels", f64::from(width)),
            ("FullPanoHeightPixels", full_height),
            ("CroppedAreaLeftPixels", 0.0),
            ("CroppedAreaTopPixels", crop_top),
        ];
        for (name, value) in fields {
            xml.push_str(&format!("<GSpherical:{name}>{value}</GSpherical:{name}>"));
        }
    }
    xml.push_str("</rdf:SphericalVideo>");
    xml
}

/// A `uuid` box holding `xml` as Spherical Video V1 metadata.
pub(crate) fn spherical_v1_box(xml: &str) -> Vec<u8> {
    let size = 8 + 16 + xml.len();
    let mut out = Vec::with_capacity(size);
    // A 32-bit size: the XML is a few hundred bytes.
    out.extend_from_slice(&u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(b"uuid");
    out.extend_from_slice(&SPHERICAL_V1_UUID);
    out.extend_from_slice(xml.as_bytes());
    out
}

/// Why a file was left as it was.
#[derive(Debug)]
pub(crate) enum Skipped {
    /// The file is not laid out so that the box can be inserted safely (moov first,
    /// fragmented, no video track, …).
    Layout(String),
    /// Reading or writing failed.
    Io(std::io::Error),
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Layout(m) => f.write_str(m),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<std::io::Error> for Skipped {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

fn layout(message: impl Into<String>) -> Skipped {
    Skipped::Layout(message.into())
}

/// A box header: where the box starts, how long its header is, where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BoxHeader {
    kind: [u8; 4],
    start: u64,
    header: u64,
    end: u64,
    /// How the size is coded: 32-bit, 64-bit (`size == 1`), or to the end of the
    /// enclosing box or file (`size == 0`).
    coding: SizeCoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SizeCoding {
    Short,
    Large,
    ToEnd,
}

/// Parses the box header in `bytes` (at least 16 bytes where available) of a box starting
/// at `start` inside a parent that ends at `parent_end`.
fn parse_header(bytes: &[u8], start: u64, parent_end: u64) -> Result<BoxHeader, Skipped> {
    let short = |n: usize| layout(format!("box header cut short at byte {start} ({n} bytes)"));
    if bytes.len() < 8 {
        return Err(short(bytes.len()));
    }
    let size = u64::from(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
    let kind = [bytes[4], bytes[5], bytes[6], bytes[7]];
    let (header, end, coding) = match size {
        0 => (8, parent_end, SizeCoding::ToEnd),
        1 => {
            let large: [u8; 8] = bytes
                .get(8..16)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| short(bytes.len()))?;
            let size = u64::from_be_bytes(large);
            (16, start.saturating_add(size), SizeCoding::Large)
        }
        n => (8, start.saturating_add(n), SizeCoding::Short),
    };
    if end < start + header || end > parent_end {
        return Err(layout(format!(
            "box `{}` at byte {start} does not fit its parent",
            String::from_utf8_lossy(&kind)
        )));
    }
    Ok(BoxHeader {
        kind,
        start,
        header,
        end,
        coding,
    })
}

/// The child boxes of `bytes[from..to]`.
fn children(bytes: &[u8], from: u64, to: u64) -> Result<Vec<BoxHeader>, Skipped> {
    let mut out = Vec::new();
    let mut at = from;
    while at + 8 <= to {
        let slice = &bytes[at as usize..(to as usize).min(at as usize + 16)];
        let b = parse_header(slice, at, to)?;
        at = b.end;
        out.push(b);
    }
    Ok(out)
}

/// Grows the size field of the box `b` (inside `bytes`) by `by` bytes.
fn grow(bytes: &mut [u8], b: &BoxHeader, by: u64) -> Result<(), Skipped> {
    let at = b.start as usize;
    match b.coding {
        SizeCoding::ToEnd => {}
        SizeCoding::Short => {
            let size = u32::try_from(b.end - b.start + by)
                .map_err(|_| layout("a box would outgrow its 32-bit size"))?;
            bytes[at..at + 4].copy_from_slice(&size.to_be_bytes());
        }
        SizeCoding::Large => {
            bytes[at + 8..at + 16].copy_from_slice(&(b.end - b.start + by).to_be_bytes());
        }
    }
    Ok(())
}

/// Whether a `trak` (in `moov`) is a video track: its `mdia/hdlr` handler type is `vide`.
fn is_video(moov: &[u8], trak: &BoxHeader) -> Result<bool, Skipped> {
    for mdia in children(moov, trak.start + trak.header, trak.end)? {
        if &mdia.kind != b"mdia" {
            continue;
        }
        for hdlr in children(moov, mdia.start + mdia.header, mdia.end)? {
            // version/flags (4), pre_defined (4), handler_type (4)
            let at = (hdlr.start + hdlr.header + 8) as usize;
            if &hdlr.kind == b"hdlr" && hdlr.end as usize >= at + 4 {
                return Ok(&moov[at..at + 4] == b"vide");
            }
        }
    }
    Ok(false)
}

/// Inserts `new_box` into the first video `trak` of `moov` (a whole `moov` box, header
/// included), right after its `tkhd`, growing the sizes of `trak` and `moov`.
fn insert_into_video_trak(moov: &mut Vec<u8>, new_box: &[u8]) -> Result<(), Skipped> {
    let len = moov.len() as u64;
    let top = parse_header(moov, 0, len)?;
    if &top.kind != b"moov" || top.end != len {
        return Err(layout("not a whole moov box"));
    }
    let mut found = None;
    for trak in children(moov, top.header, top.end)? {
        if &trak.kind == b"trak" && is_video(moov, &trak)? {
            found = Some(trak);
            break;
        }
    }
    let trak = found.ok_or_else(|| layout("no video track"))?;
    let tkhd = children(moov, trak.start + trak.header, trak.end)?
        .into_iter()
        .find(|b| &b.kind == b"tkhd")
        .ok_or_else(|| layout("the video track has no tkhd"))?;
    let by = new_box.len() as u64;
    grow(moov, &top, by)?;
    grow(moov, &trak, by)?;
    let at = tkhd.end as usize;
    moov.splice(at..at, new_box.iter().copied());
    Ok(())
}

/// The top-level boxes of a file of `len` bytes, reading only their headers.
fn top_level(file: &mut (impl Read + Seek), len: u64) -> Result<Vec<BoxHeader>, Skipped> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= len {
        let mut buf = [0u8; 16];
        let n = (len - at).min(16) as usize;
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut buf[..n])?;
        let b = parse_header(&buf[..n], at, len)?;
        at = b.end;
        out.push(b);
    }
    Ok(out)
}

/// Copies `src` to `dst` with `new_box` inserted into the video track (see
/// [`insert_into_video_trak`]). `src` must hold `moov` after every `mdat`.
pub(crate) fn copy_with_box(
    src: &mut (impl Read + Seek),
    dst: &mut impl Write,
    new_box: &[u8],
) -> Result<(), Skipped> {
    let len = src.seek(SeekFrom::End(0))?;
    let boxes = top_level(src, len)?;
    let mut moovs = boxes.iter().filter(|b| &b.kind == b"moov");
    let moov = *moovs.next().ok_or_else(|| layout("no moov box"))?;
    if moovs.next().is_some() {
        return Err(layout("more than one moov box"));
    }
    if let Some(b) = boxes
        .iter()
        .find(|b| b.start > moov.start && POSITIONED.contains(&&b.kind))
    {
        return Err(layout(format!(
            "a `{}` box follows moov (moov first, or a fragmented file)",
            String::from_utf8_lossy(&b.kind)
        )));
    }
    if moov.end - moov.start > MAX_MOOV {
        return Err(layout("the moov box is too large to rewrite"));
    }
    src.seek(SeekFrom::Start(0))?;
    std::io::copy(&mut (&mut *src).take(moov.start), dst)?;
    let mut bytes = vec![0u8; (moov.end - moov.start) as usize];
    src.read_exact(&mut bytes)?;
    // A top-level moov coded "to the end of the file" stays so: it still is.
    insert_into_video_trak(&mut bytes, new_box)?;
    dst.write_all(&bytes)?;
    std::io::copy(src, dst)?;
    Ok(())
}

/// Adds Spherical Video V1 metadata to the finished QuickTime file at `path`: the file is
/// rewritten into a temporary file beside it, which replaces it once complete, so `path`
/// always holds a whole file.
pub(crate) fn add_spherical_v1(path: &Path, xml: &str) -> Result<(), Skipped> {
    let new_box = spherical_v1_box(xml);
    let tmp = temporary_beside(path);
    let result = (|| {
        let mut src = File::open(path)?;
        let mut dst = std::io::BufWriter::new(File::create(&tmp)?);
        copy_with_box(&mut src, &mut dst, &new_box)?;
        let file = dst.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A hidden temporary path beside `path` (same folder, so the rename is atomic).
fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.sv1.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A box with a 32-bit size.
    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((8 + payload.len()) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    /// A box with a 64-bit size (`size == 1`).
    fn large(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = 1u32.to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(&((16 + payload.len()) as u64).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn hdlr(handler: &[u8; 4]) -> Vec<u8> {
        let mut p = vec![0u8; 8];
        p.extend_from_slice(handler);
        p.extend_from_slice(&[0u8; 13]);
        bx(b"hdlr", &p)
    }

    fn trak(handler: &[u8; 4], tkhd_fill: u8) -> Vec<u8> {
        let mut p = bx(b"tkhd", &[tkhd_fill; 84]);
        p.extend(bx(b"edts", &[0; 12]));
        p.extend(bx(
            b"mdia",
            &[bx(b"mdhd", &[0; 24]), hdlr(handler)].concat(),
        ));
        bx(b"trak", &p)
    }

    /// Reads the box tree back: (depth, kind, size) of every box, recursing into containers.
    fn tree(bytes: &[u8], from: u64, to: u64, depth: usize, out: &mut Vec<(usize, String, u64)>) {
        for b in children(bytes, from, to).unwrap() {
            out.push((
                depth,
                String::from_utf8_lossy(&b.kind).into_owned(),
                b.end - b.start,
            ));
            if [b"moov", b"trak", b"mdia"].contains(&&b.kind) {
                tree(bytes, b.start + b.header, b.end, depth + 1, out);
            }
        }
    }

    fn file(moov: &[u8], tail: &[u8]) -> Vec<u8> {
        let mut f = bx(b"ftyp", b"qt  \0\0\0\0qt  ");
        f.extend(bx(b"wide", &[]));
        f.extend(bx(b"mdat", &[7u8; 100]));
        f.extend_from_slice(moov);
        f.extend_from_slice(tail);
        f
    }

    fn rewrite(input: &[u8]) -> Result<Vec<u8>, Skipped> {
        let mut out = Vec::new();
        copy_with_box(&mut Cursor::new(input), &mut out, &spherical_v1_box("<x/>"))?;
        Ok(out)
    }

    #[test]
    fn inserts_into_the_video_track_and_grows_its_ancestors() {
        let sound = trak(b"soun", 1);
        let video = trak(b"vide", 2);
        let moov = bx(
            b"moov",
            &[bx(b"mvhd", &[0; 100]), sound.clone(), video.clone()].concat(),
        );
        let input = file(&moov, &bx(b"free", &[0; 4]));
        let out = rewrite(&input).unwrap();
        let added = spherical_v1_box("<x/>");
        assert_eq!(out.len(), input.len() + added.len());
        let mut before = Vec::new();
        tree(&input, 0, input.len() as u64, 0, &mut before);
        let mut after = Vec::new();
        tree(&out, 0, out.len() as u64, 0, &mut after);
        let n = added.len() as u64;
        let expect: Vec<(usize, String, u64)> = {
            let mut e = Vec::new();
            let mut trak_seen = 0;
            for (d, k, s) in &before {
                let grown = match k.as_str() {
                    "moov" => s + n,
                    "trak" => {
                        trak_seen += 1;
                        if trak_seen == 2 { s + n } else { *s }
                    }
                    _ => *s,
                };
                e.push((*d, k.clone(), grown));
                if k == "tkhd" && trak_seen == 2 {
                    e.push((2, "uuid".into(), n));
                }
            }
            e
        };
        assert_eq!(after, expect);
        // The box sits right after the video track's tkhd, UUID and payload intact.
        let video_at = input.len() - 12 - video.len();
        let uuid_at = video_at + 8 + 92;
        assert_eq!(&out[uuid_at..uuid_at + n as usize], &added[..]);
        assert_eq!(&out[uuid_at + 8..uuid_at + 24], &SPHERICAL_V1_UUID);
        // Everything before moov is untouched (chunk offsets stay valid).
        let moov_at = input.len() - 12 - moov.len();
        assert_eq!(&out[..moov_at], &input[..moov_at]);
    }

    #[test]
    fn handles_64_bit_and_to_the_end_sizes() {
        // moov and the video trak with 64-bit sizes.
        let video = large(b"trak", &trak(b"vide", 3)[8..]);
        let moov = large(b"moov", &[bx(b"mvhd", &[0; 100]), video].concat());
        let input = file(&moov, &[]);
        let out = rewrite(&input).unwrap();
        let n = spherical_v1_box("<x/>").len() as u64;
        let mut after = Vec::new();
        tree(&out, 0, out.len() as u64, 0, &mut after);
        let sizes: Vec<(&str, u64)> = after.iter().map(|(_, k, s)| (k.as_str(), *s)).collect();
        assert!(
            sizes.contains(&("moov", moov.len() as u64 + n)),
            "{sizes:?}"
        );
        assert!(sizes.contains(&("trak", video_len(&moov) + n)), "{sizes:?}");
        assert!(sizes.contains(&("uuid", n)), "{sizes:?}");
        let moov_at = input.len() - moov.len();
        assert_eq!(&out[moov_at..moov_at + 4], &1u32.to_be_bytes());

        // A moov whose size is 0 ("to the end of the file") stays 0 and still ends there.
        let mut moov0 = bx(
            b"moov",
            &[bx(b"mvhd", &[0; 100]), trak(b"vide", 4)].concat(),
        );
        moov0[..4].copy_from_slice(&0u32.to_be_bytes());
        let input = file(&moov0, &[]);
        let out = rewrite(&input).unwrap();
        let moov_at = input.len() - moov0.len();
        assert_eq!(&out[moov_at..moov_at + 4], &0u32.to_be_bytes());
        let mut after = Vec::new();
        tree(&out, 0, out.len() as u64, 0, &mut after);
        assert!(
            after.iter().any(|(_, k, s)| k == "uuid" && *s == n),
            "{after:?}"
        );
    }

    fn video_len(moov: &[u8]) -> u64 {
        let top = parse_header(moov, 0, moov.len() as u64).unwrap();
        let trak = children(moov, top.header, top.end)
            .unwrap()
            .into_iter()
            .find(|b| &b.kind == b"trak")
            .unwrap();
        trak.end - trak.start
    }

    #[test]
    fn refuses_what_it_cannot_rewrite_safely() {
        let moov = bx(
            b"moov",
            &[bx(b"mvhd", &[0; 100]), trak(b"vide", 5)].concat(),
        );
        // moov before mdat (+faststart): the chunk offsets would move.
        let mut fast = bx(b"ftyp", b"qt  \0\0\0\0qt  ");
        fast.extend_from_slice(&moov);
        fast.extend(bx(b"mdat", &[7u8; 100]));
        assert!(matches!(rewrite(&fast), Err(Skipped::Layout(m)) if m.contains("mdat")));
        // No video track.
        let audio_only = bx(
            b"moov",
            &[bx(b"mvhd", &[0; 100]), trak(b"soun", 6)].concat(),
        );
        assert!(
            matches!(rewrite(&file(&audio_only, &[])), Err(Skipped::Layout(m)) if m.contains("video"))
        );
        // A box that claims more than its parent holds.
        let mut bad = moov.clone();
        bad[8 + 108..8 + 112].copy_from_slice(&10_000u32.to_be_bytes());
        assert!(matches!(rewrite(&file(&bad, &[])), Err(Skipped::Layout(_))));
        // A cut file.
        let whole = file(&moov, &[]);
        assert!(rewrite(&whole[..whole.len() - 10]).is_err());
    }

    #[test]
    fn xml_carries_the_crop_of_a_band() {
        use std::f64::consts::FRAC_PI_2;
        let full = spherical_v1_xml(
            Spherical {
                top: FRAC_PI_2,
                bottom: -FRAC_PI_2,
            },
            2048,
            1024,
        );
        assert!(full.contains("<GSpherical:ProjectionType>equirectangular<"));
        assert!(!full.contains("Cropped"), "{full}");
        // 35° up to 50° down in 320×80: the full panorama is 80·180/85 rows high.
        let band = spherical_v1_xml(
            Spherical {
                top: 35f64.to_radians(),
                bottom: (-50f64).to_radians(),
            },
            320,
            80,
        );
        let full_h = (80.0 * 180.0 / 85.0f64).round();
        let top = (full_h * 55.0 / 180.0).round();
        for field in [
            "<GSpherical:CroppedAreaImageWidthPixels>320<".to_owned(),
            "<GSpherical:CroppedAreaImageHeightPixels>80<".to_owned(),
            "<GSpherical:FullPanoWidthPixels>320<".to_owned(),
            format!("<GSpherical:FullPanoHeightPixels>{full_h}<"),
            "<GSpherical:CroppedAreaLeftPixels>0<".to_owned(),
            format!("<GSpherical:CroppedAreaTopPixels>{top}<"),
        ] {
            assert!(band.contains(&field), "{field} not in {band}");
        }
    }
}
