//! The guest's CPU time during one plugin call, for the CPU budget.
//!
//! A call is a future; the guest runs only while that future is polled,
//! and each poll runs on one thread. [`Metered`] reads the thread's CPU
//! clock before and after every poll and adds the difference to a
//! [`CpuMeter`]; the epoch callback (which runs inside a poll, on the same
//! thread) adds the running poll's share. So the budget counts CPU the call
//! really used: time waiting for a vendor's HTTP answer is not polled, and
//! time the thread spent descheduled on a busy machine is not CPU time —
//! wall-clock accounting charged both, and a loaded host stopped healthy
//! plugins. The host-side work of imports made during a poll (encoding a
//! request, copying a response) is charged to the call; it is small next
//! to the guest's own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// CPU time used by one call so far.
#[derive(Debug, Default)]
pub(crate) struct CpuMeter {
    /// Nanoseconds of CPU used by finished polls.
    finished_ns: AtomicU64,
    /// Thread CPU clock (ns) when the running poll began.
    poll_started_ns: AtomicU64,
}

fn thread_cpu_ns() -> u64 {
    cpu_time::ThreadTime::now().as_duration().as_nanos() as u64
}

impl CpuMeter {
    /// CPU used so far; call from inside a poll (the epoch callback).
    pub(crate) fn used(&self) -> Duration {
        let running = thread_cpu_ns().saturating_sub(self.poll_started_ns.load(Ordering::Relaxed));
        Duration::from_nanos(self.finished_ns.load(Ordering::Relaxed) + running)
    }
}

/// `inner`, with the CPU of each of its polls added to `meter`.
pub(crate) struct Metered<F> {
    inner: Pin<Box<F>>,
    meter: Arc<CpuMeter>,
}

impl<F> Metered<F> {
    pub(crate) fn new(inner: F, meter: Arc<CpuMeter>) -> Metered<F> {
        Metered { inner: Box::pin(inner), meter }
    }
}

impl<F: Future> Future for Metered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let started = thread_cpu_ns();
        self.meter.poll_started_ns.store(started, Ordering::Relaxed);
        let result = self.inner.as_mut().poll(cx);
        self.meter.finished_ns.fetch_add(thread_cpu_ns().saturating_sub(started), Ordering::Relaxed);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_cpu_not_waiting() {
        let meter = Arc::new(CpuMeter::default());
        Metered::new(tokio::time::sleep(Duration::from_millis(200)), meter.clone()).await;
        assert!(meter.finished_ns.load(Ordering::Relaxed) < 50_000_000, "sleeping is not CPU");
        let spin = async {
            let t = std::time::Instant::now();
            let mut x = 0u64;
            while t.elapsed() < Duration::from_millis(100) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        };
        let before = meter.finished_ns.load(Ordering::Relaxed);
        Metered::new(spin, meter.clone()).await;
        let spun = meter.finished_ns.load(Ordering::Relaxed) - before;
        assert!(spun >= 20_000_000, "a 100 ms spin uses CPU: {spun} ns");
    }
}
