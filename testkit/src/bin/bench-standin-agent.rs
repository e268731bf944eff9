//! bench-standin-agent: a trivial agent for testing `logship-bench` (see
//! `logship_testkit::bench::standin`).

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match logship_testkit::bench::standin::main_with_args(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-standin-agent: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
