//! A structural check of a baseline JPEG's entropy-coded data: every block's Huffman codes
//! walked (no coefficient decoded), the block count the frame header implies, restart
//! markers in order, and the data ending where the last block does. A bit flip that shifts
//! the code boundaries (most of those that spread damage over the picture) leaves the walk
//! ending early or late; decoders read on without a word.

/// Whether the entropy-coded data of the JPEG `bytes` holds the blocks its headers
/// describe. Only baseline / extended Huffman JPEGs with 8-bit samples are walked:
/// progressive, lossless, arithmetic-coded and odd files get no opinion.
pub(super) fn walk(bytes: &[u8]) -> Walk {
    Parser::default().walk(bytes)
}

/// What [`walk`] found.
#[derive(Debug)]
pub(super) enum Walk {
    Sound,
    /// Why the coded data does not hold the blocks.
    Damaged(String),
    NoOpinion,
}

/// Code lengths resolved by one lookup; longer codes take JPEG's decoding procedure.
const LOOKUP_BITS: u32 = 9;

/// A Huffman table: a lookup of the codes up to [`LOOKUP_BITS`] long (`(length, symbol)`
/// by the next bits, length 0 where the code is longer), and for the longer ones JPEG's
/// decoding procedure (ITU T.81 F.2.2.3): per code length, the largest code (`None` where
/// no code has that length) and the first code and symbol index of that length.
struct Huffman {
    lookup: Vec<(u8, u8)>,
    max_code: [Option<u16>; 17],
    first_code: [u16; 17],
    first_index: [usize; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8], symbols: &[u8]) -> Option<Self> {
        let mut table = Self {
            lookup: vec![(0, 0); 1 << LOOKUP_BITS],
            max_code: [None; 17],
            first_code: [0; 17],
            first_index: [0; 17],
            symbols: symbols.to_vec(),
        };
        let (mut code, mut index) = (0u32, 0usize);
        for (len, &count) in (1..=16u32).zip(counts) {
            let count = usize::from(count);
            let slot = len as usize;
            if count > 0 {
                *table.first_code.get_mut(slot)? = code as u16;
                *table.first_index.get_mut(slot)? = index;
                if len <= LOOKUP_BITS {
                    // Every lookup index that starts with one of these codes.
                    let spread = 1 << (LOOKUP_BITS - len);
                    for (k, &symbol) in symbols.get(index..index + count)?.iter().enumerate() {
                        let first = (code as usize + k) * spread;
                        for entry in table.lookup.get_mut(first..first + spread)? {
                            *entry = (len as u8, symbol);
                        }
                    }
                }
                code += count as u32;
                index += count;
                if code > 1 << len {
                    return None;
                }
                *table.max_code.get_mut(slot)? = Some((code - 1) as u16);
            }
            code <<= 1;
        }
        (index == symbols.len()).then_some(table)
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Result<u8, String> {
        let ahead = bits.peek(LOOKUP_BITS);
        if let Some(&(len, symbol)) = self.lookup.get(ahead as usize)
            && len > 0
        {
            bits.consume(u32::from(len))?;
            return Ok(symbol);
        }
        let ahead = bits.peek(16);
        for len in LOOKUP_BITS + 1..=16 {
            let code = (ahead >> (16 - len)) as u16;
            let slot = len as usize;
            if let Some(max) = self.max_code.get(slot).copied().flatten()
                && code <= max
            {
                bits.consume(len)?;
                let first = self.first_code.get(slot).copied().unwrap_or(0);
                let index = self.first_index.get(slot).copied().unwrap_or(0);
                return self
                    .symbols
                    .get(index + usize::from(code - first))
                    .copied()
                    .ok_or_else(|| "a Huffman code past its table".to_string());
            }
        }
        // No code of any length: that is the data ending early where fewer than 16 bits
        // were left, else a bit sequence no table holds.
        bits.consume(16)?;
        Err("a bit sequence that is no Huffman code".into())
    }
}

/// The bits of one run of entropy-coded data, read ahead into a 64-bit buffer: stuffed
/// `FF 00` bytes read as `FF`; a marker (or the file's end) ends the run.
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte to read into the buffer.
    at: usize,
    /// The bits read ahead: the low `count` bits, the next one highest.
    buffer: u64,
    count: u32,
    ended: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], at: usize) -> Self {
        Self {
            data,
            at,
            buffer: 0,
            count: 0,
            ended: false,
        }
    }

    fn fill(&mut self) {
        while self.count <= 56 && !self.ended {
            let byte = match (self.data.get(self.at), self.data.get(self.at + 1)) {
                (Some(0xFF), Some(0x00)) => {
                    self.at += 2;
                    0xFF
                }
                (Some(0xFF), _) | (None, _) => {
                    self.ended = true;
                    break;
                }
                (Some(&b), _) => {
                    self.at += 1;
                    b
                }
            };
            self.buffer = self.buffer << 8 | u64::from(byte);
            self.count += 8;
        }
    }

    /// The next `n ≤ 16` bits, zeros past the run's end.
    fn peek(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.fill();
        }
        let mask = (1u64 << n) - 1;
        let bits = if self.count >= n {
            self.buffer >> (self.count - n)
        } else {
            self.buffer << (n - self.count)
        };
        (bits & mask) as u32
    }

    fn consume(&mut self, n: u32) -> Result<(), String> {
        if self.count < n {
            self.fill();
        }
        if self.count < n {
            return Err("the coded data ends before the last block".into());
        }
        self.count -= n;
        Ok(())
    }

    fn skip(&mut self, n: u8) -> Result<(), String> {
        self.consume(u32::from(n))
    }

    /// Bytes of coded data between the end of the walk and the next marker (whole bytes
    /// read ahead count; fill bytes `FF` before the marker are allowed), and where that
    /// marker starts.
    fn extraneous_bytes(&self) -> (usize, usize) {
        let mut at = self.at;
        let mut extra = self.count as usize / 8;
        loop {
            match (self.data.get(at), self.data.get(at + 1)) {
                (Some(0xFF), Some(0x00)) => {
                    extra += 1;
                    at += 2;
                }
                (Some(0xFF), Some(0xFF)) => at += 1,
                (Some(0xFF), _) | (None, _) => return (extra, at),
                (Some(_), _) => {
                    extra += 1;
                    at += 1;
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
}

#[derive(Default)]
struct Parser {
    dc: [Option<Huffman>; 4],
    ac: [Option<Huffman>; 4],
    components: Vec<Component>,
    size: (usize, usize),
    restart_interval: usize,
}

fn be16(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*bytes.get(at)?) << 8 | usize::from(*bytes.get(at + 1)?))
}

impl Parser {
    fn walk(&mut self, bytes: &[u8]) -> Walk {
        if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
            return Walk::NoOpinion;
        }
        let mut at = 2;
        let mut framed = false;
        loop {
            // Fill bytes before a marker are allowed.
            while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
                at += 1;
            }
            let (Some(0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
                return Walk::NoOpinion;
            };
            at += 2;
            if marker == 0xD9 {
                return Walk::Sound;
            }
            let Some(len) = be16(bytes, at).filter(|l| *l >= 2) else {
                return Walk::NoOpinion;
            };
            let Some(segment) = bytes.get(at + 2..at + len) else {
                return Walk::NoOpinion;
            };
            at += len;
            let parsed = match marker {
                0xC0 | 0xC1 => {
                    framed = true;
                    self.frame(segment)
                }
                // Progressive, lossless, arithmetic coding, hierarchical, DNL: no opinion.
                0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xDC | 0xDE => None,
                0xC4 => self.tables(segment),
                0xDD => be16(segment, 0).map(|ri| self.restart_interval = ri),
                0xDA if framed => match self.scan(segment, bytes, at) {
                    Ok(end) => {
                        at = end;
                        Some(())
                    }
                    Err(walk) => return walk,
                },
                0xDA => None,
                _ => Some(()),
            };
            if parsed.is_none() {
                return Walk::NoOpinion;
            }
        }
    }

    fn frame(&mut self, segment: &[u8]) -> Option<()> {
        let (&precision, rest) = segment.split_first()?;
        let height = be16(rest, 0)?;
        let width = be16(rest, 2)?;
        let count = usize::from(*rest.get(4)?);
        if precision != 8 || height == 0 || width == 0 || count == 0 {
            return None;
        }
        self.size = (width, height);
        self.components = rest
            .get(5..5 + 3 * count)?
            .chunks_exact(3)
            .filter_map(|c| match *c {
                [id, factors, _] => Some(Component {
                    id,
                    h: usize::from(factors >> 4),
                    v: usize::from(factors & 15),
                }),
                _ => None,
            })
            .collect();
        self.components
            .iter()
            .all(|c| (1..=4).contains(&c.h) && (1..=4).contains(&c.v))
            .then_some(())
    }

    fn tables(&mut self, mut segment: &[u8]) -> Option<()> {
        while let Some((&class_id, rest)) = segment.split_first() {
            let counts = rest.get(..16)?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let symbols = rest.get(16..16 + total)?;
            let table = Huffman::new(counts, symbols)?;
            let slot = usize::from(class_id & 15);
            match class_id >> 4 {
                0 => *self.dc.get_mut(slot)? = Some(table),
                1 => *self.ac.get_mut(slot)? = Some(table),
                _ => return None,
            }
            segment = rest.get(16 + total..)?;
        }
        Some(())
    }

    /// Walks one scan's coded data from `at`; returns where the next marker starts.
    fn scan(&self, segment: &[u8], bytes: &[u8], at: usize) -> Result<usize, Walk> {
        let no_opinion = Err(Walk::NoOpinion);
        let count = usize::from(*segment.first().ok_or(Walk::NoOpinion)?);
        let mut members = Vec::with_capacity(count);
        for k in 0..count {
            let (Some(&id), Some(&tables)) = (segment.get(1 + 2 * k), segment.get(2 + 2 * k))
            else {
                return no_opinion;
            };
            let Some(component) = self.components.iter().find(|c| c.id == id) else {
                return no_opinion;
            };
            let dc = self
                .dc
                .get(usize::from(tables >> 4))
                .and_then(Option::as_ref);
            let ac = self
                .ac
                .get(usize::from(tables & 15))
                .and_then(Option::as_ref);
            let (Some(dc), Some(ac)) = (dc, ac) else {
                return no_opinion;
            };
            members.push((*component, dc, ac));
        }
        let h_max = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let v_max = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        let (w, h) = self.size;
        // Interleaved scans are made of MCUs of every member's H×V blocks; a scan of one
        // component is made of that component's blocks alone.
        let (units, blocks_per_unit): (usize, Vec<(usize, &Huffman, &Huffman)>) =
            if let [(c, dc, ac)] = members.as_slice() {
                let cw = (w * c.h).div_ceil(h_max);
                let ch = (h * c.v).div_ceil(v_max);
                (cw.div_ceil(8) * ch.div_ceil(8), vec![(1, *dc, *ac)])
            } else {
                let mcus = w.div_ceil(8 * h_max) * h.div_ceil(8 * v_max);
                (
                    mcus,
                    members
                        .iter()
                        .map(|(c, dc, ac)| (c.h * c.v, *dc, *ac))
                        .collect(),
                )
            };
        let mut bits = Bits::new(bytes, at);
        let mut restarts = 0u8;
        for unit in 0..units {
            if self.restart_interval > 0 && unit > 0 && unit % self.restart_interval == 0 {
                let (extra, marker_at) = bits.extraneous_bytes();
                if extra > 0 {
                    return Err(Walk::Damaged(format!(
                        "{extra} bytes of coded data where restart marker {restarts} was due"
                    )));
                }
                match bytes.get(marker_at + 1) {
                    Some(&m) if m == 0xD0 + restarts => {}
                    _ => {
                        return Err(Walk::Damaged(format!(
                            "restart marker {restarts} missing or out of order"
                        )));
                    }
                }
                restarts = (restarts + 1) % 8;
                bits = Bits::new(bytes, marker_at + 2);
            }
            for &(blocks, dc, ac) in &blocks_per_unit {
                for _ in 0..blocks {
                    block(&mut bits, dc, ac).map_err(|why| {
                        Walk::Damaged(format!("{why}, in coding unit {unit} of {units}"))
                    })?;
                }
            }
        }
        let (extra, marker_at) = bits.extraneous_bytes();
        if extra > 0 {
            return Err(Walk::Damaged(format!(
                "{extra} bytes of coded data after the last block (its codes are out of step)"
            )));
        }
        Ok(marker_at)
    }
}

/// Walks one 8×8 block's codes: a DC difference, then AC run/size codes to the end of block.
fn block(bits: &mut Bits<'_>, dc: &Huffman, ac: &Huffman) -> Result<(), String> {
    let size = dc.decode(bits)?;
    if size > 11 {
        return Err(format!("a DC difference of {size} bits"));
    }
    bits.skip(size)?;
    let mut k = 1;
    while k < 64 {
        let rs = ac.decode(bits)?;
        let (run, size) = (usize::from(rs >> 4), rs & 15);
        if size == 0 {
            if run != 15 {
                break;
            }
            k += 16;
            continue;
        }
        if size > 10 {
            return Err(format!("an AC coefficient of {size} bits"));
        }
        k += run;
        if k > 63 {
            return Err("a block with coefficients past the 64th".into());
        }
        bits.skip(size)?;
        k += 1;
    }
    if k > 64 {
        return Err("a block with coefficients past the 64th".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Walk, walk};

    fn scan_damage(bytes: &[u8]) -> Option<String> {
        match walk(bytes) {
            Walk::Damaged(why) => Some(why),
            Walk::Sound | Walk::NoOpinion => None,
        }
    }

    const RING: &[u8] = include_bytes!("../../assets/synthetic_ring/ring_1440.jpg");
    const SAMPLE: &[u8] = include_bytes!("../../assets/opencv_sample/sample.jpg");
    /// 61×45, 4:2:0, a restart marker every 2 MCUs (libjpeg-turbo's cjpeg).
    const RESTARTS: &[u8] = include_bytes!("../../tests/fixtures/jpeg/restart_420.jpg");
    /// 63×41, 4:2:2 (ImageMagick).
    const SAMPLING_422: &[u8] = include_bytes!("../../tests/fixtures/jpeg/sampling_422.jpg");
    /// 17×13 grey: one component, partial blocks (ImageMagick).
    const GRAY: &[u8] = include_bytes!("../../tests/fixtures/jpeg/gray_17x13.jpg");
    const PROGRESSIVE: &[u8] = include_bytes!("../../tests/fixtures/jpeg/progressive.jpg");

    fn scan_start(bytes: &[u8]) -> usize {
        bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap()
    }

    #[test]
    fn sound_files_walk_to_their_end() {
        for (name, bytes) in [
            ("ring", RING),
            ("sample", SAMPLE),
            ("restarts", RESTARTS),
            ("4:2:2", SAMPLING_422),
            ("grey", GRAY),
        ] {
            assert!(
                matches!(walk(bytes), Walk::Sound),
                "{name}: not walked as sound"
            );
        }
        assert!(matches!(walk(PROGRESSIVE), Walk::NoOpinion));
        assert!(matches!(walk(b"not a jpeg"), Walk::NoOpinion));
    }

    #[test]
    fn flips_that_spread_over_the_picture_are_named() {
        // One bit flipped at a time in the coded data. A flip that shifts the code
        // boundaries garbles the rest of the picture and is caught; one inside a
        // coefficient's value bits keeps the codes in step (a DC value spreads its error
        // too, as a shade, and is missed).
        let decode = |bytes: &[u8]| image::load_from_memory(bytes).map(|i| i.to_rgb8());
        let sound = decode(SAMPLE).unwrap();
        let scan = scan_start(SAMPLE) + 20;
        let (mut spread, mut caught, mut named_anyway) = (0, 0, 0);
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..100 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut damaged = SAMPLE.to_vec();
            let at = scan + (x as usize) % (SAMPLE.len() - scan - 2);
            damaged[at] ^= 1 << (x >> 61);
            let named = scan_damage(&damaged).is_some();
            let changed = decode(&damaged).map_or(usize::MAX, |picture| {
                let pixels = picture.pixels().zip(sound.pixels());
                pixels
                    .filter(|(a, b)| a.0.iter().zip(b.0).any(|(p, q)| p.abs_diff(q) > 24))
                    .count()
            });
            if changed > sound.pixels().len() / 10 {
                spread += 1;
                caught += usize::from(named);
            } else {
                named_anyway += usize::from(named);
            }
        }
        assert!(
            spread >= 10 && caught * 3 >= spread * 2,
            "{caught} of {spread} flips that change > 10 % of the picture named \
             ({named_anyway} others)"
        );
    }

    #[test]
    fn any_bytes_are_walked_without_a_panic() {
        let mut x = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as usize
        };
        for base in [RESTARTS, SAMPLING_422, GRAY, PROGRESSIVE] {
            for _ in 0..300 {
                let mut bytes = base.to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = next() % bytes.len();
                    bytes[at] = next() as u8;
                }
                bytes.truncate(1 + next() % bytes.len());
                let _ = scan_damage(&bytes);
            }
        }
    }

    #[test]
    fn a_cut_file_and_restart_markers_out_of_order_are_named() {
        let cut = &SAMPLE[..SAMPLE.len() / 2];
        let why = scan_damage(cut).expect("a file cut in half");
        assert!(why.contains("ends before the last block"), "{why}");

        let mut swapped = RESTARTS.to_vec();
        let scan = scan_start(RESTARTS);
        let markers: Vec<usize> = (scan..swapped.len() - 1)
            .filter(|&i| swapped[i] == 0xFF && (0xD0..=0xD7).contains(&swapped[i + 1]))
            .collect();
        assert!(markers.len() >= 2, "the fixture has restart markers");
        swapped[markers[0] + 1] = 0xD1;
        let why = scan_damage(&swapped).expect("restart markers out of order");
        assert!(why.contains("restart marker 0"), "{why}");
    }
}
