//! A fixed set of hashing threads, each keeping its argon2 memory from one job to the
//! next, behind a cancellation-safe admission queue.
//!
//! At most `concurrency` jobs exist at once (a job is handed to the threads only with
//! a slot, and keeps the slot until it ends, whether or not its caller still waits),
//! so there is always a free thread for it and peak memory is `concurrency` times one
//! hash's. At most `max_waiting` callers wait for a slot; a caller that goes away
//! while waiting (its request dropped) leaves the queue at once.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    thread,
};

use anyhow::anyhow;
use argon2::{Block, Params};
use opentelemetry::metrics::Counter;
use roster_domain::ports::HashError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// One thread's argon2 working memory, grown to the largest hash it must compute and
/// shrunk back to the configured size after a larger one.
pub(super) struct Memory {
    blocks: Vec<Block>,
    usual: usize,
}

impl Memory {
    /// The blocks a hash with `params` needs, allocated on first use.
    pub(super) fn blocks(&mut self, params: &Params) -> &mut [Block] {
        let needed = params.block_count();
        if self.blocks.len() != needed.max(self.usual) {
            self.blocks = vec![Block::default(); needed.max(self.usual)];
            self.blocks.shrink_to_fit();
        }
        &mut self.blocks[..needed]
    }

    /// After a job: a hash of older, larger parameters does not keep its memory.
    fn settle(&mut self) {
        if self.blocks.len() > self.usual {
            self.blocks = Vec::new();
        }
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

#[derive(Debug)]
pub(super) struct Workers {
    jobs: mpsc::Sender<Job>,
    slots: Arc<Semaphore>,
    concurrency: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Counts refusals once [`super::Argon2Hasher::instrument`] has run.
    rejections: OnceLock<Counter<u64>>,
}

impl Workers {
    /// Starts `concurrency` threads whose memory fits `params`. They end when the
    /// `Workers` is dropped.
    pub(super) fn start(
        concurrency: usize,
        max_waiting: usize,
        params: &Params,
    ) -> anyhow::Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..concurrency {
            let receiver = Arc::clone(&receiver);
            let usual = params.block_count();
            thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    let mut memory = Memory {
                        blocks: Vec::new(),
                        usual,
                    };
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panicking job fails its caller, not the thread.
                        let _ = catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
                        memory.settle();
                    }
                })
                .map_err(|e| anyhow!("cannot start a hashing thread: {e}"))?;
        }
        Ok(Self {
            jobs: sender,
            slots: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            waiting: AtomicUsize::new(0),
            max_waiting,
            rejections: OnceLock::new(),
        })
    }

    /// Runs `job` on a hashing thread once a slot is free, or refuses at once when
    /// `max_waiting` callers already wait.
    pub(super) async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> anyhow::Result<R> + Send + 'static,
    ) -> Result<R, HashError> {
        let permit = self.admit().await?;
        let (reply, answer) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move |memory: &mut Memory| {
            // The slot is held until the hash ends, even if its caller has gone.
            let _permit: OwnedSemaphorePermit = permit;
            let _ = reply.send(span.in_scope(|| job(memory)));
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow!("the hashing threads have stopped"))?;
        answer
            .await
            .map_err(|_| anyhow!("a password hash job panicked"))?
            .map_err(HashError::Unexpected)
    }

    /// A slot, waited for in a queue of at most `max_waiting`.
    async fn admit(&self) -> Result<OwnedSemaphorePermit, HashError> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        if queued >= self.max_waiting {
            tracing::warn!(
                waiting = queued,
                "password hashing saturated: request refused"
            );
            if let Some(rejections) = self.rejections.get() {
                rejections.add(1, &[]);
            }
            return Err(HashError::Busy);
        }
        Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Unexpected(anyhow!("the hashing pool is closed")))
    }

    /// Callers waiting for a slot now.
    pub(super) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Slots held by running jobs now.
    pub(super) fn busy(&self) -> usize {
        self.concurrency
            .saturating_sub(self.slots.available_permits())
    }

    pub(super) fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// From now on, refusals are counted on `rejections`.
    /// Starts at 0, so that the series exists (and `rate()` works) before the first.
    pub(super) fn count_rejections(&self, rejections: Counter<u64>) {
        rejections.add(0, &[]);
        let _ = self.rejections.set(rejections);
    }
}

/// Counts a caller as waiting until it has a slot, gives up, or is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A job that runs until released, and says when it starts.
    fn held() -> (
        impl FnOnce(&mut Memory) -> anyhow::Result<()> + Send + 'static,
        oneshot::Receiver<()>,
        mpsc::Sender<()>,
    ) {
        let (started, on_start) = oneshot::channel();
        let (release, released) = mpsc::channel::<()>();
        let job = move |_: &mut Memory| {
            let _ = started.send(());
            let _ = released.recv();
            Ok(())
        };
        (job, on_start, release)
    }

    fn workers(concurrency: usize, max_waiting: usize) -> Arc<Workers> {
        let params = Params::new(8, 1, 1, None).expect("params");
        Arc::new(Workers::start(concurrency, max_waiting, &params).expect("workers"))
    }

    async fn until(condition: impl Fn() -> bool) {
        for _ in 0..500 {
            if condition() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("the condition never held");
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_while_queued_frees_its_place_at_once() {
        let workers = workers(1, 1);
        let (job, started, release) = held();
        let running = tokio::spawn({
            let workers = Arc::clone(&workers);
            async move { workers.run(job).await }
        });
        started.await.expect("started");

        let queued = tokio::spawn({
            let workers = Arc::clone(&workers);
            async move { workers.run(|_| Ok(())).await }
        });
        until(|| workers.waiting() == 1).await;
        assert!(
            matches!(workers.run(|_| Ok(())).await, Err(HashError::Busy)),
            "the queue is full"
        );
        queued.abort();
        until(|| workers.waiting() == 0).await;

        // Its place is free for the next caller, who waits rather than being refused.
        let next = tokio::spawn({
            let workers = Arc::clone(&workers);
            async move { workers.run(|_| Ok(7)).await }
        });
        until(|| workers.waiting() == 1).await;
        release.send(()).expect("release");
        running.await.expect("task").expect("ran");
        assert_eq!(next.await.expect("task").expect("ran"), 7);
    }

    #[tokio::test]
    async fn a_running_hash_keeps_its_slot_after_its_caller_goes() {
        let workers = workers(1, 4);
        let (job, started, release) = held();
        let running = tokio::spawn({
            let workers = Arc::clone(&workers);
            async move { workers.run(job).await }
        });
        started.await.expect("started");
        running.abort();

        let (second, second_started, second_release) = held();
        let waiting = tokio::spawn({
            let workers = Arc::clone(&workers);
            async move { workers.run(second).await }
        });
        until(|| workers.waiting() == 1).await;
        let mut second_started = second_started;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            second_started.try_recv().is_err(),
            "the abandoned hash still holds the only slot"
        );
        release.send(()).expect("release");
        second_started.await.expect("then the next one runs");
        second_release.send(()).expect("release");
        waiting.await.expect("task").expect("ran");
    }

    #[test]
    fn memory_is_kept_at_the_usual_size_and_larger_hashes_give_theirs_back() {
        let usual = Params::new(64, 1, 1, None).expect("params");
        let larger = Params::new(256, 1, 1, None).expect("params");
        let mut memory = Memory {
            blocks: Vec::new(),
            usual: usual.block_count(),
        };
        assert_eq!(memory.blocks(&usual).len(), usual.block_count());
        let kept = memory.blocks.as_ptr();
        memory.settle();
        assert_eq!(
            memory.blocks(&usual).as_ptr(),
            kept,
            "reused, not reallocated"
        );

        assert_eq!(memory.blocks(&larger).len(), larger.block_count());
        memory.settle();
        assert!(memory.blocks.is_empty(), "the larger memory is given back");
    }
}
