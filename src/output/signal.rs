//! Ctrl-C (SIGINT), SIGTERM and SIGHUP: finalise what is being written, or remove it —
//! never a broken file under its final name.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::{Error, Result};

/// Exit status after an interrupt (128 + SIGINT), as shells report Ctrl-C.
const INTERRUPTED: i32 = 130;

/// Set once a caller has taken the flag ([`interrupt_flag`]): it then finalises its output
/// on the first signal, and only a second one ends the process.
static FINALISES: AtomicBool = AtomicBool::new(false);

fn handler_flag() -> Result<Arc<AtomicBool>> {
    static FLAG: OnceLock<std::result::Result<Arc<AtomicBool>, String>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let seen = flag.clone();
        ctrlc::set_handler(move || {
            let again = seen.swap(true, Ordering::SeqCst);
            if !again && FINALISES.load(Ordering::SeqCst) {
                return;
            }
            discard_and_exit(again);
        })
        .map_err(|e| e.to_string())?;
        Ok(flag)
    })
    .clone()
    .map_err(Error::Signal)
}

/// Removes every live temporary and ends the process with status 130 and one line on
/// stderr. Holds the registry's lock to the end, so no temporary is created or committed
/// meanwhile.
fn discard_and_exit(again: bool) -> ! {
    let mut live = super::live();
    let discarded = !live.is_empty();
    for path in live.values() {
        let _ = std::fs::remove_file(path);
    }
    live.clear();
    let line = match (again, discarded) {
        (true, true) => "interrupted again: the partial output was discarded",
        (true, false) => "interrupted again: nothing partial was left",
        (false, true) => "interrupted: the partial output was discarded",
        (false, false) => "interrupted before any output was written",
    };
    // A closed stderr must not keep us from exiting.
    let _ = writeln!(std::io::stderr(), "omnidewarp: {line}");
    std::process::exit(INTERRUPTED);
}

/// Installs the process's interrupt handler (once; later calls do nothing) for SIGINT,
/// SIGTERM and SIGHUP. Unless a caller has taken [`interrupt_flag`], a signal removes every
/// temporary output of this crate, prints one line on stderr and exits with status 130:
/// a still or a map being written is dropped, never left half-written, and an existing file
/// at its path is untouched.
///
/// This replaces the default action of those signals for the whole process: call it from
/// a program's `main`, not from library code.
pub fn install_interrupt_handler() -> Result<()> {
    handler_flag().map(drop)
}

/// A flag set by the first Ctrl-C (SIGINT), SIGTERM or SIGHUP, for
/// [`VideoJob::cancel`](crate::video::VideoJob): the conversion then stops reading,
/// finalises its output and returns with `VideoReport::interrupted` set. Installs the
/// handler of [`install_interrupt_handler`] if needed. Once a caller has taken this flag,
/// the first signal only sets it; a second one removes the temporaries (the unfinished
/// output) and exits with status 130 and one line saying so.
pub fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let flag = handler_flag()?;
    FINALISES.store(true, Ordering::SeqCst);
    Ok(flag)
}
