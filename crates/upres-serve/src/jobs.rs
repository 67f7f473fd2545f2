//! Admission and progress: a fixed number of jobs run, a bounded number wait, the rest are
//! turned away; clients can ask how far their job is.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The job queue: `slots` jobs run at once, `waiting` more may wait for a slot.
pub struct Queue {
    slots: Arc<Semaphore>,
    capacity: usize,
    admitted: AtomicUsize,
    running: AtomicUsize,
}

/// A place in the queue; dropping it leaves the queue.
pub struct Ticket {
    queue: Arc<Queue>,
}

/// A running job's slot; dropping it frees the slot.
pub struct Slot {
    queue: Arc<Queue>,
    _permit: OwnedSemaphorePermit,
}

impl Queue {
    pub fn new(slots: usize, waiting: usize) -> Self {
        let slots = slots.max(1);
        Self {
            slots: Arc::new(Semaphore::new(slots)),
            capacity: slots + waiting,
            admitted: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
        }
    }

    /// A place in the queue, or `None` when it is full.
    pub fn admit(self: &Arc<Self>) -> Option<Ticket> {
        let admitted = self.admitted.fetch_add(1, Ordering::SeqCst);
        let ticket = Ticket {
            queue: self.clone(),
        };
        (admitted < self.capacity).then_some(ticket)
    }

    /// Jobs admitted and not yet running.
    pub fn waiting(&self) -> usize {
        let admitted = self.admitted.load(Ordering::SeqCst);
        admitted.saturating_sub(self.running.load(Ordering::SeqCst))
    }

    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}

impl Ticket {
    /// Waits for a free slot.
    pub async fn slot(&self) -> Slot {
        let permit = self
            .queue
            .slots
            .clone()
            .acquire_owned()
            .await
            // The semaphore lives as long as the queue and is never closed.
            .expect("the job semaphore is never closed");
        self.queue.running.fetch_add(1, Ordering::SeqCst);
        Slot {
            queue: self.queue.clone(),
            _permit: permit,
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.queue.admitted.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.queue.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Where a job stands, as `GET /v1/progress/{id}` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Queued,
    Running,
    Done,
    Unknown,
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Progress {
    pub state: State,
    /// Tiles done.
    pub done: usize,
    /// Tiles in all (0 until the image is decoded).
    pub total: usize,
    #[serde(skip)]
    updated: Instant,
}

/// How long a finished job's progress stays readable.
const KEEP_FINISHED: Duration = Duration::from_secs(60);

/// Progress of jobs by their client-chosen id.
#[derive(Default)]
pub struct ProgressBoard {
    jobs: Mutex<HashMap<String, Progress>>,
}

/// Whether `id` may name a job: 8 to 64 of `[A-Za-z0-9_-]`.
pub fn valid_job_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ProgressBoard {
    /// Starts tracking `id` as queued; `false` if a job with that id is still unfinished.
    pub fn start(&self, id: &str) -> bool {
        let mut jobs = self.lock();
        let now = Instant::now();
        jobs.retain(|_, p| p.state != State::Done || now - p.updated < KEEP_FINISHED);
        if jobs.get(id).is_some_and(|p| p.state != State::Done) {
            return false;
        }
        jobs.insert(
            id.to_string(),
            Progress {
                state: State::Queued,
                done: 0,
                total: 0,
                updated: now,
            },
        );
        true
    }

    pub fn update(&self, id: &str, state: State, done: usize, total: usize) {
        if let Some(p) = self.lock().get_mut(id) {
            *p = Progress {
                state,
                done,
                total,
                updated: Instant::now(),
            };
        }
    }

    /// Marks `id` finished, successfully or not.
    pub fn finish(&self, id: &str) {
        if let Some(p) = self.lock().get_mut(id) {
            p.state = State::Done;
            p.updated = Instant::now();
        }
    }

    pub fn get(&self, id: &str) -> Progress {
        self.lock().get(id).copied().unwrap_or(Progress {
            state: State::Unknown,
            done: 0,
            total: 0,
            updated: Instant::now(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Progress>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queue_admits_slots_plus_waiting_and_frees_on_drop() {
        let queue = Arc::new(Queue::new(1, 1));
        let first = queue.admit().unwrap();
        let second = queue.admit().unwrap();
        assert!(
            queue.admit().is_none(),
            "one running and one waiting is full"
        );
        let slot = first.slot().await;
        assert_eq!((queue.running(), queue.waiting()), (1, 1));
        drop(slot);
        drop(first);
        assert_eq!((queue.running(), queue.waiting()), (0, 1));
        let _slot = second.slot().await;
        assert!(queue.admit().is_some());
    }

    #[test]
    fn job_ids_are_short_and_plain() {
        assert!(valid_job_id("abcd-1234_XY"));
        assert!(!valid_job_id("short"));
        assert!(!valid_job_id("../../etc/passwd"));
        assert!(!valid_job_id(&"a".repeat(65)));
        let board = ProgressBoard::default();
        assert!(board.start("job-00001"));
        assert!(!board.start("job-00001"), "still queued");
        board.update("job-00001", State::Running, 2, 5);
        assert_eq!(board.get("job-00001").done, 2);
        board.finish("job-00001");
        assert!(board.start("job-00001"), "finished ids may be reused");
        assert_eq!(board.get("nobody-here").state, State::Unknown);
    }
}
