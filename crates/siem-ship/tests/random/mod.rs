//! A small seeded generator for tests that act at random moments, and the seed to replay a run.

/// Xorshift64: enough to spread kills and pauses; not for anything secret.
pub struct Random {
    state: u64,
    seed: u64,
}

impl Random {
    /// A generator seeded from the environment variable `name` when set (to replay a failed
    /// run), from the clock otherwise; the seed is printed either way.
    pub fn seeded_from_env(name: &str) -> Random {
        let seed: u64 = std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        println!("{name}={seed}");
        Random { state: seed, seed }
    }

    /// The seed this generator started from, for failure messages.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A number below `below`.
    pub fn next(&mut self, below: u64) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % below
    }
}

/// The number in the environment variable `name`, or `default`.
pub fn count_from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
