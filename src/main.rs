//! The binary: parse arguments, set up logging, run one command, print one report.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing(args.verbose);
    cli::run(args)
}
