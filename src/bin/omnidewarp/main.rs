//! The `omnidewarp` command-line tool.

fn main() {}
