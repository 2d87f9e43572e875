//! `omnidewarp`: batch conversion of mirror-camera frames, remap tables, calibration tools.
//!
//! Exit codes: 0 success, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C or
//! SIGTERM: a video output is finalised first, a second signal discards it; any other
//! output being written is discarded). Errors are one line on stderr.

mod args;
mod commands;
mod output;
#[cfg(feature = "video")]
mod video;

use std::process::ExitCode;

use clap::Parser;

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

fn main() -> ExitCode {
    let cli = args::Cli::parse();
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
            let line = failure.message.replace('\n', " ");
            eprintln!("omnidewarp: error: {line}");
            ExitCode::from(failure.code)
        }
    }
}
