//! Background tasks that stop on a signal: the job worker, the webhook
//! worker, health checks, the artifact purge and the plugin sync.
//!
//! Each loop takes a `watch::Receiver<bool>` and returns soon after it
//! turns true. [`Background::shutdown`] raises the signal and waits;
//! dropping a [`Background`] raises it too, so a gateway dropped without
//! `shutdown` leaves no loop running (a dropped sender would instead make
//! `changed()` fail at once, forever).

use std::future::Future;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One or more tasks under one stop signal.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Spawn `run` with the stop signal.
    pub fn spawn<F, Fut>(run: F) -> Background
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(stopped));
        Background { stop, tasks: vec![task] }
    }

    /// Spawn another task under the same signal.
    pub fn and<F, Fut>(mut self, run: F) -> Background
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(run(self.stop.subscribe())));
        self
    }

    /// Raise the signal and wait for every task to return.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    async fn until_stopped(mut stopped: watch::Receiver<bool>, done: Arc<AtomicBool>) {
        let _ = stopped.wait_for(|s| *s).await;
        done.store(true, Ordering::SeqCst);
    }

    #[tokio::test]
    async fn shutdown_and_drop_both_stop_every_task() {
        let (a, b) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let (a2, b2) = (a.clone(), b.clone());
        let tasks = Background::spawn(|s| until_stopped(s, a2)).and(|s| until_stopped(s, b2));
        tasks.shutdown().await;
        assert!(a.load(Ordering::SeqCst) && b.load(Ordering::SeqCst));

        let c = Arc::new(AtomicBool::new(false));
        let c2 = c.clone();
        drop(Background::spawn(|s| until_stopped(s, c2)));
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !c.load(Ordering::SeqCst) {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("a dropped Background stops its task");
    }
}
