//! Seeded pseudo-random numbers and the rate limiter's token bucket.

use std::time::{Duration, Instant};

/// SplitMix64: small, fast, and the same sequence for the same seed on every platform.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A draw in [0, 1) turned into a yes with probability `p`.
pub(crate) fn chance(draw: u64, p: f64) -> bool {
    let x = (draw >> 11) as f64 / (1u64 << 53) as f64;
    x < p
}

/// Token bucket: `rate` tokens a second, holding at most `rate`.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Option<Instant>,
}

impl Bucket {
    pub fn new() -> Self {
        Bucket { tokens: 0.0, last: None }
    }

    /// Takes a token; when there is none, returns how long until there will be one.
    pub fn take(&mut self, rate: u32, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(rate.max(1));
        match self.last {
            None => self.tokens = rate,
            Some(last) => {
                let add = now.saturating_duration_since(last).as_secs_f64() * rate;
                self.tokens = (self.tokens + add).min(rate);
            }
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_deterministic() {
        let a: Vec<u64> = {
            let mut r = SplitMix64::new(42);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let mut r = SplitMix64::new(42);
        assert_eq!(a, (0..5).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert!(chance(0, 0.5));
        assert!(!chance(u64::MAX, 0.5));
        assert!(!chance(0, 0.0));
    }

    #[test]
    fn bucket_allows_a_burst_then_refills() {
        let t0 = Instant::now();
        let mut b = Bucket::new();
        for _ in 0..3 {
            assert!(b.take(3, t0).is_ok());
        }
        let wait = b.take(3, t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(334));
        assert!(b.take(3, t0 + Duration::from_millis(400)).is_ok());
    }
}
