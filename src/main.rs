//! The binary: parse arguments, set up logging, run one command, print one report.

mod cli;

use clap::Parser;

// Rows are allocated value by value on the reader threads and freed on the transform
// threads; glibc's arenas spent ~10% of the run's CPU on that pattern (perf), mimalloc
// a fraction of it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing(args.verbose);
    cli::run(args)
}
