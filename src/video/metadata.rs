//! 360° metadata: the elevation range an equirectangular output covers ([`Spherical`]),
//! written as stream side data (mp4 `sv3d`/`st3d`, Matroska `Projection`) before the header,
//! and — FFmpeg's mov muxer writes `sv3d`/`st3d` in mp4 mode only — as Google's Spherical
//! Video V1 `uuid` box inserted into a finished QuickTime (`.mov`) file's video track.
//!
//! The `.mov` box is added without moving a media byte, so every chunk offset stays valid
//! whatever the layout (moov last, `+faststart`, fragments): a copy of `moov` with the box
//! inserted is appended to the file, then the old `moov` becomes a `free` box. The cost is
//! one `moov` (kilobytes to a few megabytes), not a copy of the file.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use ffmpeg_next as ff;

use crate::model::{Projection, View};

/// The elevation range an equirectangular output covers (radians), for its metadata.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spherical {
    /// Elevation of the top edge.
    pub top: f64,
    /// Elevation of the bottom edge.
    pub bottom: f64,
}

impl Spherical {
    /// The metadata an output of `view` gets: `Some` for equirectangular views.
    #[must_use]
    pub fn of_view(view: &View) -> Option<Self> {
        match view.projection {
            Projection::Equirect { top, bottom } => Some(Self { top, bottom }),
            _ => None,
        }
    }
}

/// Attaches equirectangular spherical mapping (and mono stereo 3D) side data to a stream.
pub(crate) fn add_spherical(
    stream: &mut ff::format::stream::StreamMut<'_>,
    s: Spherical,
) -> std::result::Result<(), String> {
    use std::f64::consts::PI;
    // Crops from the full sphere, as 0.32 fixed-point fractions of the frame height.
    let fixed = |fraction: f64| (fraction.clamp(0.0, 1.0) * 4_294_967_295.0).round() as u32;
    let bound_top = fixed((PI / 2.0 - s.top) / PI);
    let bound_bottom = fixed((s.bottom + PI / 2.0) / PI);
    let tiled = bound_top != 0 || bound_bottom != 0;
    // SAFETY: `av_spherical_alloc` returns a zeroed AVSphericalMapping of `size` bytes (or
    // null); on success `av_stream_add_side_data` takes ownership of it, on failure we free
    // it. `av_stereo3d_alloc` likewise returns a zeroed AVStereo3D (or null) whose size is
    // `size_of::<AVStereo3D>()`. The stream pointer is valid for the lifetime of `stream`.
    unsafe {
        let mut size: usize = 0;
        let mapping = ff::ffi::av_spherical_alloc(&mut size);
        if mapping.is_null() {
            return Err("out of memory".into());
        }
        (*mapping).projection = if tiled {
            ff::ffi::AVSphericalProjection::AV_SPHERICAL_EQUIRECTANGULAR_TILE
        } else {
            ff::ffi::AVSphericalProjection::AV_SPHERICAL_EQUIRECTANGULAR
        };
        (*mapping).bound_top = bound_top;
        (*mapping).bound_bottom = bound_bottom;
        let st = stream.as_mut_ptr();
        let r = ff::ffi::av_stream_add_side_data(
            st,
            ff::ffi::AVPacketSideDataType::AV_PKT_DATA_SPHERICAL,
            mapping.cast(),
            size,
        );
        if r < 0 {
            ff::ffi::av_free(mapping.cast());
            return Err(format!(
                "cannot attach spherical metadata: {}",
                ff::Error::from(r)
            ));
        }
        let stereo = ff::ffi::av_stereo3d_alloc();
        if stereo.is_null() {
            return Err("out of memory".into());
        }
        (*stereo).type_ = ff::ffi::AVStereo3DType::AV_STEREO3D_2D;
        let r = ff::ffi::av_stream_add_side_data(
            st,
            ff::ffi::AVPacketSideDataType::AV_PKT_DATA_STEREO3D,
            stereo.cast(),
            std::mem::size_of::<ff::ffi::AVStereo3D>(),
        );
        if r < 0 {
            ff::ffi::av_free(stereo.cast());
            return Err(format!(
                "cannot attach stereo metadata: {}",
                ff::Error::from(r)
            ));
        }
    }
    Ok(())
}

/// The UUID of a Spherical Video V1 box.
const SPHERICAL_V1_UUID: [u8; 16] = [
    0xff, 0xcc, 0x82, 0x63, 0xf8, 0x55, 0x4a, 0x93, 0x88, 0x14, 0x58, 0x7a, 0x02, 0x52, 0x1f, 0xdd,
];

/// The largest `moov` box read into memory.
const MAX_MOOV: u64 = 512 << 20;

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
    /// The file has no box to insert into (no `moov` or video track) or is malformed.
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
    let word = |at: usize| -> Option<[u8; 4]> { bytes.get(at..at + 4)?.try_into().ok() };
    let (Some(size), Some(kind)) = (word(0), word(4)) else {
        return Err(short(bytes.len()));
    };
    let size = u64::from(u32::from_be_bytes(size));
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
        let slice = bytes
            .get(at as usize..(to as usize).min(at as usize + 16))
            .ok_or_else(|| layout(format!("a box at byte {at} passes the end of its parent")))?;
        let b = parse_header(slice, at, to)?;
        at = b.end;
        out.push(b);
    }
    Ok(out)
}

/// Grows the size field of the box `b` (inside `bytes`) by `by` bytes.
fn grow(bytes: &mut [u8], b: &BoxHeader, by: u64) -> Result<(), Skipped> {
    let at = b.start as usize;
    let (field, size) = match b.coding {
        SizeCoding::ToEnd => return Ok(()),
        SizeCoding::Short => {
            let size = u32::try_from(b.end - b.start + by)
                .map_err(|_| layout("a box would outgrow its 32-bit size"))?;
            (at..at + 4, size.to_be_bytes().to_vec())
        }
        SizeCoding::Large => (
            at + 8..at + 16,
            (b.end - b.start + by).to_be_bytes().to_vec(),
        ),
    };
    bytes
        .get_mut(field)
        .ok_or_else(|| layout("a box's size field passes the end of the data"))?
        .copy_from_slice(&size);
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
                return Ok(moov.get(at..at + 4) == Some(b"vide"));
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
        let header = buf
            .get_mut(..(len - at).min(16) as usize)
            .unwrap_or_default();
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(header)?;
        let b = parse_header(header, at, len)?;
        at = b.end;
        out.push(b);
    }
    Ok(out)
}

/// How to retire the old `moov` once its copy is safely written: the bytes to write at
/// `at` (the type `free`, after an explicit size where the box ran to the end of the file).
#[derive(Debug)]
struct Retire {
    at: u64,
    header: Vec<u8>,
}

/// Appends to `file` a copy of its `moov` with `new_box` inserted into the video track (see
/// [`insert_into_video_trak`]); returns how to retire the old one.
fn append_moov_copy(
    file: &mut (impl Read + Write + Seek),
    new_box: &[u8],
) -> Result<Retire, Skipped> {
    let len = file.seek(SeekFrom::End(0))?;
    let boxes = top_level(file, len)?;
    let mut moovs = boxes.iter().filter(|b| &b.kind == b"moov");
    let moov = *moovs.next().ok_or_else(|| layout("no moov box"))?;
    if moovs.next().is_some() {
        return Err(layout("more than one moov box"));
    }
    if let Some(b) = boxes
        .iter()
        .find(|b| b.coding == SizeCoding::ToEnd && b.start != moov.start)
    {
        return Err(layout(format!(
            "the last box, `{}`, runs to the end of the file",
            String::from_utf8_lossy(&b.kind)
        )));
    }
    let moov_len = moov.end - moov.start;
    if moov_len > MAX_MOOV {
        return Err(layout("the moov box is too large to rewrite"));
    }
    file.seek(SeekFrom::Start(moov.start))?;
    let mut bytes = vec![0u8; moov_len as usize];
    file.read_exact(&mut bytes)?;
    // The copy is the last box: one coded "to the end of the file" stays so.
    insert_into_video_trak(&mut bytes, new_box)?;
    file.seek(SeekFrom::Start(len))?;
    file.write_all(&bytes)?;
    Ok(if moov.coding == SizeCoding::ToEnd {
        let size = u32::try_from(moov_len).map_err(|_| layout("the moov box is too large"))?;
        Retire {
            at: moov.start,
            header: [&size.to_be_bytes()[..], b"free"].concat(),
        }
    } else {
        Retire {
            at: moov.start + 4,
            header: b"free".to_vec(),
        }
    })
}

/// Turns the old `moov` into a `free` box of the same size.
fn retire(file: &mut (impl Write + Seek), r: &Retire) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(r.at))?;
    file.write_all(&r.header)
}

/// Adds Spherical Video V1 metadata to the finished QuickTime file at `path`, in place (see
/// the module doc). The file is whole at every step: until the old `moov` is retired (after
/// its copy is on disk) demuxers read the first, unchanged one, and a failed append is cut
/// off again.
pub(crate) fn add_spherical_v1(path: &Path, xml: &str) -> Result<(), Skipped> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let appended = append_moov_copy(&mut file, &spherical_v1_box(xml))
        .and_then(|r| Ok(file.sync_data().map(|()| r)?));
    let plan = match appended {
        Ok(plan) => plan,
        Err(e) => {
            let _ = file.set_len(len).and_then(|()| file.sync_data());
            return Err(e);
        }
    };
    retire(&mut file, &plan)?;
    Ok(file.sync_data()?)
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
        let mut file = Cursor::new(input.to_vec());
        let plan = append_moov_copy(&mut file, &spherical_v1_box("<x/>"))?;
        retire(&mut file, &plan)?;
        Ok(file.into_inner())
    }

    /// The boxes of `bytes` at the top level and inside `moov`/`trak`/`mdia`.
    fn boxes(bytes: &[u8]) -> Vec<(usize, String, u64)> {
        let mut out = Vec::new();
        tree(bytes, 0, bytes.len() as u64, 0, &mut out);
        out
    }

    /// `moov`'s tree with `n` bytes of uuid after the tkhd of its `video_trak`-th track.
    fn grown(moov: &[u8], video_trak: usize, n: u64) -> Vec<(usize, String, u64)> {
        let mut e = Vec::new();
        let mut traks = 0;
        for (d, k, s) in boxes(moov) {
            traks += usize::from(k == "trak");
            let size = match k.as_str() {
                "moov" => s + n,
                "trak" if traks == video_trak => s + n,
                _ => s,
            };
            let after_tkhd = k == "tkhd" && traks == video_trak;
            e.push((d, k, size));
            if after_tkhd {
                e.push((2, "uuid".into(), n));
            }
        }
        e
    }

    #[test]
    fn appends_a_grown_moov_and_frees_the_old_one() {
        let moov = bx(
            b"moov",
            &[bx(b"mvhd", &[0; 100]), trak(b"soun", 1), trak(b"vide", 2)].concat(),
        );
        let tail = bx(b"free", &[0; 4]);
        let input = file(&moov, &tail);
        let out = rewrite(&input).unwrap();
        let added = spherical_v1_box("<x/>");
        let n = added.len() as u64;
        // Every byte of the input stays where it was but the old moov's type.
        let moov_at = input.len() - tail.len() - moov.len();
        assert_eq!(&out[..moov_at + 4], &input[..moov_at + 4]);
        assert_eq!(&out[moov_at + 4..moov_at + 8], b"free");
        assert_eq!(&out[moov_at + 8..input.len()], &input[moov_at + 8..]);
        // Then the copy: the video track (the second) holds the uuid right after its tkhd.
        let copy = &out[input.len()..];
        assert_eq!(copy.len() as u64, moov.len() as u64 + n);
        assert_eq!(boxes(copy), grown(&moov, 2, n));
        let uuid_at = 8 + 108 + trak(b"soun", 1).len() + 8 + 92;
        assert_eq!(&copy[uuid_at..uuid_at + added.len()], &added[..]);
        assert_eq!(&copy[uuid_at + 8..uuid_at + 24], &SPHERICAL_V1_UUID);
        let top: Vec<String> = boxes(&out)
            .into_iter()
            .filter(|b| b.0 == 0)
            .map(|b| b.1)
            .collect();
        assert_eq!(top, ["ftyp", "wide", "mdat", "free", "free", "moov"]);
    }

    #[test]
    fn handles_64_bit_and_to_the_end_sizes() {
        let n = spherical_v1_box("<x/>").len() as u64;
        // moov and the video trak with 64-bit sizes: the copy keeps them 64-bit.
        let video = large(b"trak", &trak(b"vide", 3)[8..]);
        let moov = large(b"moov", &[bx(b"mvhd", &[0; 100]), video].concat());
        let input = file(&moov, &[]);
        let out = rewrite(&input).unwrap();
        let copy = &out[input.len()..];
        assert_eq!(&copy[..8], &[&1u32.to_be_bytes()[..], b"moov"].concat()[..]);
        assert_eq!(boxes(copy), grown(&moov, 1, n));
        let moov_at = input.len() - moov.len();
        assert_eq!(
            &out[moov_at..moov_at + 8],
            &[0, 0, 0, 1, b'f', b'r', b'e', b'e']
        );

        // A moov whose size is 0 ("to the end of the file"): the old one gets its explicit
        // size as it becomes free, the copy (now last) keeps 0.
        let mut moov0 = bx(
            b"moov",
            &[bx(b"mvhd", &[0; 100]), trak(b"vide", 4)].concat(),
        );
        let explicit = moov0.clone();
        moov0[..4].copy_from_slice(&0u32.to_be_bytes());
        let input = file(&moov0, &[]);
        let out = rewrite(&input).unwrap();
        let moov_at = input.len() - moov0.len();
        assert_eq!(
            &out[moov_at..moov_at + 8],
            &[&(moov0.len() as u32).to_be_bytes()[..], b"free"].concat()[..]
        );
        assert_eq!(&out[input.len()..input.len() + 4], &0u32.to_be_bytes());
        let mut expect = grown(&explicit, 1, n);
        expect[0].2 = (out.len() - input.len()) as u64;
        assert_eq!(boxes(&out[input.len()..]), expect);
    }

    #[test]
    fn moov_first_files_keep_their_media_in_place() {
        // +faststart: moov before mdat. Nothing moves, so the chunk offsets stay right.
        let moov = bx(
            b"moov",
            &[bx(b"mvhd", &[0; 100]), trak(b"vide", 5)].concat(),
        );
        let mut fast = bx(b"ftyp", b"qt  \0\0\0\0qt  ");
        let moov_at = fast.len();
        fast.extend_from_slice(&moov);
        fast.extend(bx(b"mdat", &[7u8; 100]));
        let out = rewrite(&fast).unwrap();
        assert_eq!(&out[moov_at + 8..fast.len()], &fast[moov_at + 8..]);
        assert_eq!(&out[moov_at + 4..moov_at + 8], b"free");
        let n = spherical_v1_box("<x/>").len() as u64;
        assert_eq!(boxes(&out[fast.len()..]), grown(&moov, 1, n));
    }

    #[test]
    fn refuses_what_it_cannot_rewrite() {
        let moov = bx(
            b"moov",
            &[bx(b"mvhd", &[0; 100]), trak(b"vide", 5)].concat(),
        );
        // No video track.
        let audio_only = bx(
            b"moov",
            &[bx(b"mvhd", &[0; 100]), trak(b"soun", 6)].concat(),
        );
        assert!(
            matches!(rewrite(&file(&audio_only, &[])), Err(Skipped::Layout(m)) if m.contains("video"))
        );
        // A box after moov that runs to the end of the file would swallow the copy.
        let mut open_tail = bx(b"free", &[0; 4]);
        open_tail[..4].copy_from_slice(&0u32.to_be_bytes());
        assert!(
            matches!(rewrite(&file(&moov, &open_tail)), Err(Skipped::Layout(m)) if m.contains("end"))
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
