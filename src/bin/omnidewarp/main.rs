//! `omnidewarp`: batch conversion of mirror-camera frames, remap tables, calibration tools.
//!
//! Exit codes: 0 success, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C or
//! SIGTERM: a video output is finalised first, a second signal discards it; any other
//! output being written is discarded). Errors are one line on stderr (`omnidewarp: error:
//! …`); a usage error adds one `omnidewarp: hint:` line pointing to `--help`.

mod args;
mod commands;
mod output;
#[cfg(feature = "video")]
mod video;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser};

/// A failure with its exit code.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// A usage error (exit 2): the command line asks for something impossible.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    /// A runtime error (exit 1).
    pub fn runtime(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<omnidewarp::Error> for Failure {
    fn from(e: omnidewarp::Error) -> Self {
        match e {
            // Ctrl-C or SIGTERM while the input was being opened: 128 + SIGINT.
            omnidewarp::Error::Interrupted => Self {
                code: 130,
                message: e.to_string(),
            },
            e => Self::runtime(e.to_string()),
        }
    }
}

/// A clap error as our one line (`omnidewarp: error: …`, clap's tips folded in) and, for a
/// usage error, one hint line; help and version requests print as clap prints them.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // Help asked for (or a bare `omnidewarp`): clap's own text, to stdout or stderr.
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
    }
    let rendered = e.render().to_string();
    // clap's text: `error: …`, indented continuation lines (missing arguments), `tip: …`
    // lines, then the usage and a pointer to --help, which the hint line replaces.
    let mut lines = rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"));
    let first = lines.next().unwrap_or("invalid command line");
    let mut message = first
        .strip_prefix("error:")
        .unwrap_or(first)
        .trim()
        .to_owned();
    let (mut details, mut tips) = (Vec::new(), Vec::new());
    for line in lines {
        match line.strip_prefix("tip:") {
            Some(tip) => tips.push(tip.trim()),
            None => details.push(line),
        }
    }
    if !details.is_empty() {
        message = format!("{} {}", message.trim_end_matches(':'), details.join(", "));
        message = message.replacen(" provided ", " provided: ", 1);
    }
    for tip in tips {
        message.push_str(&format!(" ({tip})"));
    }
    let command = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .filter(|a| args::Cli::command().find_subcommand(a).is_some());
    // clap quotes the values it refuses: printed without the secrets.
    eprintln!("omnidewarp: error: {}", output::clean(&message));
    match command {
        Some(c) => eprintln!("omnidewarp: hint: see `omnidewarp {c} --help`"),
        None => eprintln!("omnidewarp: hint: see `omnidewarp --help`"),
    }
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // SAFETY: first statement of main, no other thread exists yet.
    #[cfg(feature = "gpu")]
    unsafe {
        omnidewarp::gpu::quiet_device_select_without_runtime_dir();
    }
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    output::note_secrets(&argv);
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let level = if cli.quiet {
        log::LevelFilter::Error
    } else {
        log::LevelFilter::Info
    };
    output::init_logger(level);
    // Ctrl-C / SIGTERM: a still or a map being written is removed, never left half-written;
    // a video conversion finalises on the first signal (it takes the flag).
    if let Err(e) = omnidewarp::output::install_interrupt_handler() {
        log::warn!("{e}");
    }
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let line = output::clean(&failure.message.replace('\n', " "));
            eprintln!("omnidewarp: error: {line}");
            ExitCode::from(failure.code)
        }
    }
}
