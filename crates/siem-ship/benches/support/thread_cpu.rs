//! CPU time of this process's threads by name, for benchmarks that show which thread bounds
//! a rate. Shared by the siem-ship and tracing-siem benches (included with `#[path]`).

/// CPU nanoseconds so far of this process's threads whose name starts with `prefix`, from
/// `/proc/self/task/*/schedstat` (0 where that is not available).
pub fn thread_cpu_ns(prefix: &str) -> u64 {
    thread_sched_ns(prefix)[0]
}

/// Nanoseconds so far that this process's threads whose name starts with `prefix` spent on a
/// CPU and waiting for one (runnable but not running), from `/proc/self/task/*/schedstat`
/// (zeros where that is not available).
pub fn thread_sched_ns(prefix: &str) -> [u64; 2] {
    let mut total = [0; 2];
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix) {
            let stat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            let mut fields = stat
                .split_whitespace()
                .map(|n| n.parse::<u64>().unwrap_or(0));
            for t in &mut total {
                *t += fields.next().unwrap_or(0);
            }
        }
    }
    total
}
