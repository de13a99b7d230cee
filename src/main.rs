//! The binary: parse arguments, set up logging, run one command, print one report.

mod cli;

use clap::Parser;

// Rows are allocated value by value on the reader threads and freed on the transform
// threads; glibc's arenas spent ~10% of the run's CPU on that pattern (perf), mimalloc
// a fraction of it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    no_transparent_huge_pages();
    let args = cli::Cli::parse();
    cli::init_tracing(args.verbose);
    cli::run(args)
}

/// The data path frees and reallocates megabytes of batch buffers all the time. With
/// transparent huge pages (Debian's default is `always`), each refault zeroes a whole
/// 2 MiB page: ~4% of `run`'s CPU in `perf` and a third more peak RSS. Off for this
/// process only (the same as MIMALLOC_ALLOW_THP=0); the system setting is untouched.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and touches no memory
    // of ours; a failure (an old kernel) leaves THP as it was, which is only slower.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
