//! Frame timing: frames per second and frame-time percentiles over one-second windows, for
//! the `--stats` lines and the HUD.

/// One finished window of frame timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Frames drawn per second.
    pub fps: f64,
    /// Median frame time, ms (work from the start of a redraw to its present).
    pub p50: f64,
    /// 99th percentile frame time, ms.
    pub p99: f64,
}

/// Collects frame times and closes a [`Window`] every `period` seconds.
#[derive(Debug, Clone)]
pub struct FrameStats {
    period: f64,
    start: Option<f64>,
    times: Vec<f64>,
    last: Option<Window>,
}

/// The `q`-quantile (0–1) of sorted `v`, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl FrameStats {
    /// Windows of `period` seconds.
    #[must_use]
    pub fn new(period: f64) -> Self {
        Self {
            period,
            start: None,
            times: Vec::new(),
            last: None,
        }
    }

    /// Notes a frame that took `ms` milliseconds, drawn at `now` (s).
    pub fn frame(&mut self, now: f64, ms: f64) {
        self.start.get_or_insert(now);
        self.times.push(ms);
    }

    /// Closes the window if `now` is past its end; returns it.
    pub fn poll(&mut self, now: f64) -> Option<Window> {
        let start = *self.start.get_or_insert(now);
        let elapsed = now - start;
        if elapsed < self.period {
            return None;
        }
        let mut sorted = std::mem::take(&mut self.times);
        sorted.sort_by(f64::total_cmp);
        let window = Window {
            fps: sorted.len() as f64 / elapsed,
            p50: quantile(&sorted, 0.5),
            p99: quantile(&sorted, 0.99),
        };
        self.start = Some(now);
        self.last = Some(window);
        Some(window)
    }

    /// The last closed window.
    #[must_use]
    pub fn last(&self) -> Option<Window> {
        self.last
    }

    /// Seconds until the current window closes.
    #[must_use]
    pub fn until_next(&self, now: f64) -> f64 {
        self.start
            .map_or(self.period, |s| (s + self.period - now).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_report_rate_and_percentiles() {
        let mut stats = FrameStats::new(1.0);
        assert!(stats.poll(0.0).is_none());
        for i in 0..100 {
            stats.frame(
                f64::from(i) * 0.01,
                if i == 99 { 50.0 } else { f64::from(i % 10) },
            );
        }
        assert!(stats.poll(0.5).is_none());
        let w = stats.poll(1.0).unwrap();
        assert!((w.fps - 100.0).abs() < 1e-9);
        assert_eq!(w.p50, 4.0);
        assert_eq!(w.p99, 9.0);
        // The next window starts empty.
        let w = stats.poll(2.0).unwrap();
        assert_eq!((w.fps, w.p50), (0.0, 0.0));
        assert!((stats.until_next(2.25) - 0.75).abs() < 1e-12);
    }
}
