//! `indi_sonyctl`: the INDI driver, started by `indiserver` (`indiserver indi_sonyctl`). Reads
//! the protocol on standard input, writes it on standard output; its log goes to standard
//! error, which indiserver keeps. When standard input closes it ends the camera's session
//! (buttons released, the file format restored, the camera closed) and exits within 2 s.

use std::process::ExitCode;
use std::time::Duration;

use sonyctl_indi::{Config, Driver};

/// How long the end of the session may take once standard input closed.
const SHUTDOWN: Duration = Duration::from_millis(1500);

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            log(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run());
    // A blocking read still under way is not waited for, nor the writer thread stuck on a
    // reader of standard output that stopped reading: what it has not written is dropped.
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

fn log(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "indi_sonyctl: {line}");
}

async fn run() -> ExitCode {
    let config = Config::from_env();
    let out = Box::new(std::io::BufWriter::with_capacity(65_536, std::io::stdout()));
    let driver = match Driver::new(&config, out) {
        Ok(d) => d,
        Err(e) => {
            log(&format!("cannot start: {e}"));
            return ExitCode::FAILURE;
        }
    };
    driver.serve(tokio::io::stdin(), SHUTDOWN).await;
    ExitCode::SUCCESS
}
