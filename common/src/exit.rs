//! Process exit codes shared by the three daemons.
//!
//! They follow sysexits(3), so scripts and Kubernetes events tell an operator's
//! mistake (fix the config, do not restart in a loop) from a runtime failure.
//! [`run_until_signal`] is the common tail of every daemon's `main`.

/// Bad configuration or command-line arguments (`EX_USAGE` in sysexits(3)): the config
/// file is missing, unreadable or invalid, or an argument is malformed. Restarting
/// will not help; the operator must fix the input.
pub const EX_USAGE: u8 = 64;

/// A runtime failure after the configuration was accepted: a socket could not be
/// bound, the runtime could not start, a listener failed.
pub const EX_FAILURE: u8 = 1;

/// Runs a daemon's `serve` on a multi-threaded runtime of `worker_threads`
/// until SIGTERM or SIGINT (readiness false at once, `lameduck` of serving,
/// then the shutdown token fires) and maps the outcome to an exit code: 0, or
/// [`EX_FAILURE`] with the error logged as "`name` failed".
pub fn run_until_signal<F, Fut, E>(
    name: &str,
    worker_threads: usize,
    lameduck: std::time::Duration,
    serve: F,
) -> std::process::ExitCode
where
    F: FnOnce(crate::readiness::Readiness, crate::shutdown::Shutdown) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads.max(1))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start runtime");
            return std::process::ExitCode::from(EX_FAILURE);
        }
    };
    let result = runtime.block_on(async move {
        let readiness = crate::readiness::Readiness::new();
        let shutdown = crate::shutdown::Shutdown::on_signal(readiness.clone(), lameduck);
        serve(readiness, shutdown).await
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "{name} failed");
            std::process::ExitCode::from(EX_FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_sysexits() {
        assert_eq!(EX_USAGE, 64);
        assert_eq!(EX_FAILURE, 1);
    }
}
