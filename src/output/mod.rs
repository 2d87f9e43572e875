//! Files out, never half-written: atomic outputs, the signal handler that cleans up after
//! them, and frames saved as images.
//!
//! Every file this crate writes (stills, remap tables, videos, each image of a sequence,
//! calibration exports) is first written to a temporary file beside its target — same
//! folder, so the final rename is atomic — and renamed over the target only when complete
//! and synced. Until then an existing file at the target is untouched; a failure, an error
//! return or a panic unwinding removes the temporary ([`TempPath`]'s `Drop`), and so does
//! the interrupt handler ([`install_interrupt_handler`]) before it ends the process.
//!
//! | what | how |
//! |---|---|
//! | write a file with `std::io::Write` | [`AtomicFile::create`] … [`AtomicFile::commit`] |
//! | several files, all or none | [`commit_all`] |
//! | a file another library writes by name (FFmpeg) | [`TempPath::create`], write to [`TempPath::path`], then [`TempPath::commit`] |
//! | a frame as an image | [`save_image`] (and [`frame_to_image`] for the buffer alone) |
//!
//! Temporaries are named `.{stem}.{pid}-{n}.tmp.{ext}` (the extension kept, so format
//! guessers such as FFmpeg's see the target's), e.g. `.pano.4711-0.tmp.mp4`.

mod image;
mod signal;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

pub use image::{frame_to_image, save_image};
pub use signal::{install_interrupt_handler, interrupt_flag};

use crate::{Error, Result};

/// The temporaries alive in this process, by id: the interrupt handler removes them all
/// before it exits. Creating, renaming and removing a temporary happen under this lock, so
/// the handler never sees one half made or half committed.
static LIVE: Mutex<BTreeMap<u64, PathBuf>> = Mutex::new(BTreeMap::new());

/// Ids for [`LIVE`] and for temporary names.
static NEXT: AtomicU64 = AtomicU64::new(0);

fn live() -> MutexGuard<'static, BTreeMap<u64, PathBuf>> {
    // A panic while the lock was held left the map itself consistent (every update is one
    // insert or remove): go on with it.
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// The folder `path` is in (`.` for a bare file name).
fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The temporary name number `n` for `target`.
fn temporary_name(target: &Path, n: u64) -> Result<PathBuf> {
    let not_a_file = || {
        io_error(
            target,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        )
    };
    target.file_name().ok_or_else(not_a_file)?;
    let stem = target.file_stem().ok_or_else(not_a_file)?;
    let mut name = std::ffi::OsString::from(".");
    name.push(stem);
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    if let Some(ext) = target.extension() {
        name.push(".");
        name.push(ext);
    }
    Ok(folder(target).join(name))
}

/// A temporary file beside a target, registered with the interrupt handler: removed when
/// dropped, renamed over the target by [`TempPath::commit`].
///
/// For outputs that another library opens by name (FFmpeg's muxers): create the
/// `TempPath`, let it write [`TempPath::path`], close it, then commit.
#[derive(Debug)]
pub struct TempPath {
    id: u64,
    temp: PathBuf,
    target: PathBuf,
}

impl TempPath {
    /// Creates an empty temporary file beside `target` (a fresh name, never an existing
    /// file). Errors name `target`.
    pub fn create(target: &Path) -> Result<Self> {
        Self::create_file(target).map(|(t, _)| t)
    }

    /// [`TempPath::create`], with the file open for writing.
    fn create_file(target: &Path) -> Result<(Self, File)> {
        loop {
            let id = NEXT.fetch_add(1, Ordering::Relaxed);
            let temp = temporary_name(target, id)?;
            let mut live = live();
            match File::options().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    live.insert(id, temp.clone());
                    let target = target.to_owned();
                    return Ok((Self { id, temp, target }, file));
                }
                // Left by an earlier process that had our pid: take the next number.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && id < 1 << 20 => {}
                Err(e) => return Err(io_error(target, e)),
            }
        }
    }

    /// The temporary file's path, to write to.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// The final path.
    #[must_use]
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Syncs the temporary file to disk and renames it over the target (the folder is
    /// synced too, best effort). On failure the temporary is removed and the target is as
    /// it was.
    pub fn commit(self) -> Result<()> {
        File::open(&self.temp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error(&self.target, e))?;
        self.rename()
    }

    /// Renames the (synced) temporary over the target.
    fn rename(self) -> Result<()> {
        {
            let mut live = live();
            std::fs::rename(&self.temp, &self.target).map_err(|e| io_error(&self.target, e))?;
            live.remove(&self.id);
        }
        if let Ok(dir) = File::open(folder(&self.target)) {
            // Makes the rename itself durable; a folder that cannot be synced (some network
            // file systems) still holds the complete file.
            let _ = dir.sync_all();
        }
        std::mem::forget(self);
        Ok(())
    }

    /// Removes the temporary now (as dropping does).
    pub fn discard(self) {}
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let mut live = live();
        let _ = std::fs::remove_file(&self.temp);
        live.remove(&self.id);
    }
}

/// A file written through a temporary beside its target: `Write` into it, then
/// [`AtomicFile::commit`]. Dropped uncommitted (an error, a panic) it leaves nothing.
///
/// ```
/// use std::io::Write;
/// use omnidewarp::output::AtomicFile;
/// # fn main() -> omnidewarp::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("omnidewarp-doc-atomic-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let target = dir.join("table.txt");
/// std::fs::write(&target, "old").unwrap();
/// let mut file = AtomicFile::create(&target)?;
/// file.write_all(b"new").unwrap();
/// drop(file); // not committed: the old file stays, no temporary is left
/// assert_eq!(std::fs::read(&target).unwrap(), b"old");
/// let mut file = AtomicFile::create(&target)?;
/// file.write_all(b"new").unwrap();
/// file.commit()?;
/// assert_eq!(std::fs::read(&target).unwrap(), b"new");
/// assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    file: BufWriter<File>,
    temp: TempPath,
}

impl AtomicFile {
    /// Starts writing `target` (nothing changes there until [`AtomicFile::commit`]).
    pub fn create(target: &Path) -> Result<Self> {
        let (temp, file) = TempPath::create_file(target)?;
        Ok(Self {
            file: BufWriter::new(file),
            temp,
        })
    }

    /// The final path.
    #[must_use]
    pub fn target(&self) -> &Path {
        self.temp.target()
    }

    /// Flushes and syncs what was written; the file is then complete on disk.
    fn sync(&mut self) -> Result<()> {
        self.file
            .flush()
            .and_then(|()| self.file.get_ref().sync_all())
            .map_err(|e| io_error(self.temp.target(), e))
    }

    /// Flushes, syncs and renames the file over its target. On failure nothing is left and
    /// the target is as it was.
    pub fn commit(mut self) -> Result<()> {
        self.sync()?;
        self.temp.rename()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

/// Commits several files as one output (both tables of a map, …): all are written out and
/// synced, and every target is checked to be replaceable (not a folder), before the first
/// is renamed; so any failure to write (a full disk, a quota) or a target in the way leaves
/// every target as it was. Only a rename can fail after that, and renames within a folder
/// need no space.
pub fn commit_all(files: Vec<AtomicFile>) -> Result<()> {
    let mut files = files;
    for f in &mut files {
        f.sync()?;
    }
    for f in &files {
        let target = f.target();
        if std::fs::symlink_metadata(target).is_ok_and(|m| m.is_dir()) {
            return Err(io_error(
                target,
                std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder"),
            ));
        }
    }
    for f in files {
        f.temp.rename()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("omnidewarp-output-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn temporaries_keep_the_extension() {
        let t = temporary_name(Path::new("a/b/pano.mp4"), 3).unwrap();
        let pid = std::process::id();
        assert_eq!(t, Path::new(&format!("a/b/.pano.{pid}-3.tmp.mp4")));
        let t = temporary_name(Path::new("calib"), 0).unwrap();
        assert_eq!(t, Path::new(&format!("./.calib.{pid}-0.tmp")));
        assert!(temporary_name(Path::new("/"), 0).is_err());
        assert!(temporary_name(Path::new("a/.."), 0).is_err());
    }

    #[test]
    fn a_dropped_file_leaves_the_target_and_no_temporary() {
        let d = dir("drop");
        let target = d.join("out.bin");
        std::fs::write(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"new contents").unwrap();
        f.flush().unwrap();
        assert_eq!(names(&d).len(), 2);
        assert!(live().values().any(|p| p.starts_with(&d)));
        drop(f);
        assert_eq!(names(&d), ["out.bin"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(!live().values().any(|p| p.starts_with(&d)));
        // A panic unwinding drops it too.
        let t = target.clone();
        let r = std::panic::catch_unwind(move || {
            let mut f = AtomicFile::create(&t).unwrap();
            f.write_all(b"x").unwrap();
            panic!("mid-write");
        });
        assert!(r.is_err());
        assert_eq!(names(&d), ["out.bin"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn commit_replaces_and_commit_all_writes_every_file() {
        let d = dir("commit");
        let a = d.join("m_x.pgm");
        let b = d.join("m_y.pgm");
        std::fs::write(&a, b"old a").unwrap();
        let mut fa = AtomicFile::create(&a).unwrap();
        let mut fb = AtomicFile::create(&b).unwrap();
        fa.write_all(b"new a").unwrap();
        fb.write_all(b"new b").unwrap();
        commit_all(vec![fa, fb]).unwrap();
        assert_eq!(names(&d), ["m_x.pgm", "m_y.pgm"]);
        assert_eq!(std::fs::read(&a).unwrap(), b"new a");
        assert_eq!(std::fs::read(&b).unwrap(), b"new b");
        // A temporary path written by someone else, then committed.
        let c = d.join("clip.mkv");
        let t = TempPath::create(&c).unwrap();
        assert_eq!(t.target(), c);
        std::fs::write(t.path(), b"muxed").unwrap();
        t.commit().unwrap();
        assert_eq!(std::fs::read(&c).unwrap(), b"muxed");
        assert_eq!(names(&d).len(), 3);
        // A folder in the way of the second file: neither is written.
        std::fs::create_dir(d.join("n_y.pgm")).unwrap();
        let mut fa = AtomicFile::create(&d.join("n_x.pgm")).unwrap();
        let fb = AtomicFile::create(&d.join("n_y.pgm")).unwrap();
        fa.write_all(b"x").unwrap();
        let e = commit_all(vec![fa, fb]).unwrap_err();
        assert!(e.to_string().contains("n_y.pgm"), "{e}");
        assert_eq!(names(&d), ["clip.mkv", "m_x.pgm", "m_y.pgm", "n_y.pgm"]);
        std::fs::remove_dir(d.join("n_y.pgm")).unwrap();
        // A target in a folder that does not exist: an error naming the target.
        let e = AtomicFile::create(&d.join("no/such/x.png")).unwrap_err();
        assert!(e.to_string().contains("no/such/x.png"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
