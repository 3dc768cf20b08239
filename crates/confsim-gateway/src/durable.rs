//! When the `--journal` file reaches the disk (`--fsync always|batch|never`).
//!
//! Every journaled answer first has its records (the input and every event journaled with it)
//! handed to the operating system, under the engine's lock; what happens next depends on the
//! mode:
//!
//! * `always`: `fdatasync` right there, still under the lock, so no later request is decided
//!   before this one is on disk. One sync per answer.
//! * `batch` (group commit): the answer leaves the engine's lock holding a ticket and waits
//!   until a sync that *started after* its records were written has finished. One thread of its
//!   own (`journal-sync`) does every sync, in a loop: it notes the last `seq` handed to the
//!   operating system (W), calls `fdatasync`, publishes "on disk up to W", wakes exactly the
//!   waiters whose `seq` is at most W (each through its own one-shot channel; they registered
//!   under the engine's lock, so in `seq` order), and, if anyone is still waiting, starts the
//!   next sync at once; otherwise it sleeps until a waiter registers. Nothing but the thread
//!   ever waits for the disk: neither the engine's lock nor a runtime worker is held during a
//!   sync, and a client that goes away mid-wait only drops its ticket.
//! * `never`: nothing more. Killing the process loses nothing acknowledged; stopping the
//!   machine may lose what the operating system had not written yet.
//!
//! A failed write or sync in a durable mode is logged, and from then on the gateway
//! acknowledges no input (`100-007`, before the input is decided): answering as if it were on
//! disk would break the promise. Waiters still waiting are refused too. A restart continues
//! the journal from what is on disk.
//!
//! The file is reached through [`JournalFile`], which `std::fs::File` implements (a `write` and
//! an `fdatasync`, nothing more); the one seam a test uses to put a simulated disk there
//! (`Gateway::with_journal_file`) and lose power at any moment.

use crate::config::Fsync;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// The `--journal` file as the gateway uses it: appended to, and synced. `std::fs::File` is the
/// real one; a test may give `Gateway::with_journal_file` a double (a simulated disk that keeps
/// what was written apart from what was synced, and can lose power).
pub trait JournalFile: Send + Sync + std::fmt::Debug + 'static {
    /// Hands `data` to the operating system, appended after everything written before.
    fn write_all(&self, data: &[u8]) -> std::io::Result<()>;
    /// `fdatasync`: returns `Ok` once everything written before the call *started* is on disk.
    fn sync_data(&self) -> std::io::Result<()>;
}

impl JournalFile for File {
    fn write_all(&self, data: &[u8]) -> std::io::Result<()> {
        Write::write_all(&mut &*self, data)
    }

    fn sync_data(&self) -> std::io::Result<()> {
        File::sync_data(self)
    }
}

/// The journal could not be made durable.
#[derive(Debug, Clone)]
pub(crate) struct NotDurable(pub String);

/// What a `batch` answer waits on: resolved by the sync thread once its records are on disk
/// (or refused after a failure).
pub(crate) type Ticket = oneshot::Receiver<Result<(), NotDurable>>;

#[derive(Debug, Default)]
struct State {
    /// The last `seq` handed to the operating system.
    written: u64,
    /// The last `seq` known to be on disk.
    synced: u64,
    /// Batch answers waiting, in the order they registered (under the engine's lock, so by
    /// `seq`): each is answered once a sync that started after its `seq` was written is done.
    waiters: VecDeque<(u64, oneshot::Sender<Result<(), NotDurable>>)>,
    /// The sync thread sleeps on the condition variable (a registration must wake it).
    asleep: bool,
    /// The `Durability` is gone: the thread finishes what waits and ends.
    stop: bool,
    failure: Option<String>,
    syncs: u64,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// The sync thread sleeps here when no answer waits.
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the first failure and refuses every waiter; returns them to answer (outside the
    /// lock).
    fn fail(state: &mut State, why: &str) -> Vec<oneshot::Sender<Result<(), NotDurable>>> {
        if state.failure.is_none() {
            tracing::error!(
                why,
                "the journal file failed: no input is acknowledged any more (restart to continue the journal from what is on disk)"
            );
            state.failure = Some(why.to_owned());
        }
        state.waiters.drain(..).map(|(_, tx)| tx).collect()
    }
}

#[derive(Debug)]
pub(crate) struct Durability {
    mode: Fsync,
    /// The journal file (`None`: no file, nothing to make durable).
    file: Option<Arc<dyn JournalFile>>,
    shared: Arc<Shared>,
}

impl Durability {
    /// `on_disk`: the `seq` already durable (the last record of a resumed journal, synced at
    /// start-up; 0 for a new one). In `batch` mode with a file, starts the sync thread.
    pub fn new(
        mode: Fsync,
        file: Option<Arc<dyn JournalFile>>,
        on_disk: u64,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                written: on_disk,
                synced: on_disk,
                ..State::default()
            }),
            wake: Condvar::new(),
        });
        if let (Fsync::Batch, Some(file)) = (mode, &file) {
            let (shared, file) = (shared.clone(), file.clone());
            std::thread::Builder::new()
                .name("journal-sync".to_owned())
                .spawn(move || sync_loop(&shared, &*file))?;
        }
        Ok(Durability { mode, file, shared })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// Whether there is a file to write.
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// Why inputs are no longer acknowledged, in a durable mode after a failure.
    pub fn refusal(&self) -> Option<NotDurable> {
        if self.mode == Fsync::Never {
            return None;
        }
        self.lock().failure.clone().map(NotDurable)
    }

    /// Records a failure of the file (a write the journal's sink could not make); refuses every
    /// answer still waiting.
    pub fn fail(&self, why: &str) {
        let refused = Shared::fail(&mut self.lock(), why);
        for tx in refused {
            let _ = tx.send(Err(NotDurable(why.to_owned())));
        }
    }

    /// Syncs done so far (for the metrics).
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Called under the engine's lock once every record up to `seq` has been handed to the
    /// operating system. `always`: syncs now. `batch`: the ticket the answer must wait on
    /// (`None` if `seq` is on disk already). `never`: nothing.
    pub fn written(&self, seq: u64) -> Result<Option<Ticket>, NotDurable> {
        let Some(file) = &self.file else {
            return Ok(None);
        };
        match self.mode {
            Fsync::Never => Ok(None),
            Fsync::Batch => {
                let mut state = self.lock();
                state.written = state.written.max(seq);
                if let Some(why) = &state.failure {
                    return Err(NotDurable(why.clone()));
                }
                if seq <= state.synced {
                    return Ok(None);
                }
                let (tx, rx) = oneshot::channel();
                state.waiters.push_back((seq, tx));
                let wake = std::mem::take(&mut state.asleep);
                drop(state);
                if wake {
                    self.shared.wake.notify_one();
                }
                Ok(Some(rx))
            }
            Fsync::Always => {
                if let Some(why) = self.refusal() {
                    return Err(why);
                }
                if self.lock().synced >= seq {
                    return Ok(None);
                }
                let result = file.sync_data();
                let mut state = self.lock();
                state.syncs += 1;
                match result {
                    Ok(()) => {
                        state.written = state.written.max(seq);
                        state.synced = state.synced.max(seq);
                        Ok(None)
                    }
                    Err(error) => {
                        drop(state);
                        let why = format!("fdatasync of the journal failed: {error}");
                        self.fail(&why);
                        Err(NotDurable(why))
                    }
                }
            }
        }
    }

    /// `batch`: returns once the ticket's records are on disk (see the module's notes).
    pub async fn wait(ticket: Ticket) -> Result<(), NotDurable> {
        ticket
            .await
            .unwrap_or_else(|_| Err(NotDurable("the gateway is stopping".to_owned())))
    }
}

impl Drop for Durability {
    /// Lets the sync thread finish what still waits, then end.
    fn drop(&mut self) {
        self.lock().stop = true;
        self.shared.wake.notify_one();
    }
}

/// The sync thread (`batch`): syncs back to back while answers wait, sleeps otherwise.
fn sync_loop(shared: &Shared, file: &dyn JournalFile) {
    loop {
        let target = {
            let mut state = shared.lock();
            while state.waiters.is_empty() {
                if state.stop {
                    return;
                }
                state.asleep = true;
                state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
                state.asleep = false;
            }
            // Everything up to here was handed to the operating system before this sync starts.
            state.written
        };
        let result = file.sync_data();
        let (ready, answer) = {
            let mut state = shared.lock();
            state.syncs += 1;
            match result {
                Ok(()) => {
                    state.synced = state.synced.max(target);
                    // In `seq` order: the first one beyond `target` waits for the next sync,
                    // and so does every one after it (never answered early, even if the order
                    // were broken).
                    let mut ready = Vec::new();
                    while state.waiters.front().is_some_and(|(seq, _)| *seq <= target) {
                        ready.extend(state.waiters.pop_front().map(|(_, tx)| tx));
                    }
                    (ready, Ok(()))
                }
                Err(error) => {
                    let why = format!("fdatasync of the journal failed: {error}");
                    let refused = Shared::fail(&mut state, &why);
                    (refused, Err(NotDurable(why)))
                }
            }
        };
        for tx in ready {
            let _ = tx.send(answer.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &tempfile::TempDir, name: &str) -> Option<Arc<dyn JournalFile>> {
        Some(Arc::new(File::create(dir.path().join(name)).unwrap()))
    }

    #[tokio::test]
    async fn batch_waiters_share_syncs_and_see_their_records_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let d = Arc::new(Durability::new(Fsync::Batch, file(&dir, "j"), 0).unwrap());
        let mut waits = Vec::new();
        for seq in 1..=200u64 {
            let ticket = d.written(seq).unwrap().expect("a ticket: not on disk yet");
            waits.push(tokio::spawn(Durability::wait(ticket)));
        }
        for w in waits {
            w.await.unwrap().unwrap();
        }
        assert_eq!(d.lock().synced, 200);
        assert!(d.syncs() >= 1 && d.syncs() <= 200);
        assert!(d.lock().waiters.is_empty());
        // Already on disk: nothing to wait for.
        assert!(d.written(200).unwrap().is_none());
    }

    /// A file whose syncs are counted and fail on demand.
    #[derive(Debug, Default)]
    struct Flaky {
        fail: std::sync::atomic::AtomicBool,
    }

    impl JournalFile for Flaky {
        fn write_all(&self, _: &[u8]) -> std::io::Result<()> {
            Ok(())
        }
        fn sync_data(&self) -> std::io::Result<()> {
            std::thread::sleep(std::time::Duration::from_millis(1));
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(std::io::Error::other("the disk is gone"));
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_failed_batch_sync_refuses_every_waiter_and_everything_after() {
        let flaky = Arc::new(Flaky::default());
        let d = Durability::new(Fsync::Batch, Some(flaky.clone()), 0).unwrap();
        Durability::wait(d.written(1).unwrap().unwrap())
            .await
            .unwrap();
        flaky.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        let tickets: Vec<_> = (2..=20)
            .map(|seq| d.written(seq).unwrap().unwrap())
            .collect();
        for ticket in tickets {
            assert!(Durability::wait(ticket).await.is_err());
        }
        assert!(d.refusal().is_some());
        assert!(d.written(21).is_err());
    }

    #[test]
    fn always_syncs_before_returning_and_never_does_not_sync() {
        let dir = tempfile::tempdir().unwrap();
        let d = Durability::new(Fsync::Always, file(&dir, "a"), 0).unwrap();
        assert!(d.written(1).unwrap().is_none());
        assert_eq!(d.lock().synced, 1);
        assert_eq!(d.syncs(), 1);
        let d = Durability::new(Fsync::Never, file(&dir, "n"), 0).unwrap();
        assert!(d.written(1).unwrap().is_none());
        assert_eq!(d.syncs(), 0);
        d.fail("test");
        assert!(d.refusal().is_none(), "never refuses: it promised no disk");
    }

    #[test]
    fn after_a_failure_a_durable_mode_acknowledges_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = Durability::new(Fsync::Batch, file(&dir, "b"), 0).unwrap();
        d.fail("disk on fire");
        assert!(d.refusal().is_some());
        assert!(d.written(1).is_err());
    }
}
