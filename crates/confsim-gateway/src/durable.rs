//! When the `--journal` file reaches the disk (`--fsync always|batch|never`).
//!
//! Every journaled answer first has its records (the input and every event journaled with it)
//! handed to the operating system, under the engine's lock; what happens next depends on the
//! mode:
//!
//! * `always`: `fdatasync` right there, still under the lock, so no later request is decided
//!   before this one is on disk. One sync per answer.
//! * `batch` (group commit): the answer leaves the lock and waits until a sync that *started
//!   after* its records were written has finished. A sync covers everything written when it
//!   started; requests arriving while one runs wait for the next, which one of them starts (the
//!   leader) and which then covers them all. The sync itself runs on a blocking thread of its
//!   own, so a client that goes away mid-wait cannot leave the others waiting.
//! * `never`: nothing more. Killing the process loses nothing acknowledged; stopping the
//!   machine may lose what the operating system had not written yet.
//!
//! A failed write or sync in a durable mode is logged, and from then on the gateway
//! acknowledges no input (`100-007`, before the input is decided): answering as if it were on
//! disk would break the promise. A restart continues the journal from what is on disk.

use crate::config::Fsync;
use std::fs::File;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// The journal could not be made durable.
#[derive(Debug, Clone)]
pub(crate) struct NotDurable(pub String);

#[derive(Debug, Default)]
struct State {
    /// The last `seq` handed to the operating system.
    written: u64,
    /// The last `seq` known to be on disk.
    synced: u64,
    /// A sync is running (batch mode).
    syncing: bool,
    failure: Option<String>,
    syncs: u64,
}

#[derive(Debug)]
pub(crate) struct Durability {
    mode: Fsync,
    /// A handle on the journal file for syncing (`None`: no file, nothing to make durable).
    file: Option<Arc<File>>,
    state: Mutex<State>,
    /// Bumped at the end of every sync: waiters look again.
    done: watch::Sender<u64>,
}

impl Durability {
    /// `on_disk`: the `seq` already durable (the last record of a resumed journal, synced at
    /// start-up; 0 for a new one).
    pub fn new(mode: Fsync, file: Option<File>, on_disk: u64) -> Self {
        Durability {
            mode,
            file: file.map(Arc::new),
            state: Mutex::new(State {
                written: on_disk,
                synced: on_disk,
                ..State::default()
            }),
            done: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Records a failure of the file (a write the journal's sink could not make).
    pub fn fail(&self, why: &str) {
        let mut state = self.lock();
        if state.failure.is_none() {
            tracing::error!(
                why,
                "the journal file failed: no input is acknowledged any more (restart to continue the journal from what is on disk)"
            );
            state.failure = Some(why.to_owned());
        }
    }

    /// Syncs done so far (for the metrics).
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Called under the engine's lock once every record up to `seq` has been handed to the
    /// operating system. `always`: syncs now. `batch`: the `seq` the answer must wait for
    /// (`wait`). `never`: nothing.
    pub fn written(&self, seq: u64) -> Result<Option<u64>, NotDurable> {
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
                Ok((seq > state.synced).then_some(seq))
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

    /// `batch`: returns once record `seq` is on disk (group commit; see the module's notes).
    pub async fn wait(self: &Arc<Self>, seq: u64) -> Result<(), NotDurable> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut done = self.done.subscribe();
        loop {
            let lead = {
                let mut state = self.lock();
                if let Some(why) = &state.failure {
                    return Err(NotDurable(why.clone()));
                }
                if state.synced >= seq {
                    return Ok(());
                }
                if state.syncing {
                    None
                } else {
                    state.syncing = true;
                    Some(state.written)
                }
            };
            match lead {
                Some(target) => {
                    let (this, file) = (self.clone(), file.clone());
                    // The sync and its bookkeeping run to the end even if this future is
                    // dropped (its client went away): the followers depend on them.
                    let _ = tokio::task::spawn_blocking(move || this.synced(target, &file)).await;
                }
                None => {
                    if done.changed().await.is_err() {
                        return Err(NotDurable("the gateway is stopping".to_owned()));
                    }
                }
            }
        }
    }

    /// A batch sync: everything written when it started is on disk after it.
    fn synced(&self, target: u64, file: &File) {
        let result = file.sync_data();
        {
            let mut state = self.lock();
            state.syncing = false;
            state.syncs += 1;
            match result {
                Ok(()) => state.synced = state.synced.max(target),
                Err(error) => {
                    drop(state);
                    self.fail(&format!("fdatasync of the journal failed: {error}"));
                }
            }
        }
        self.done.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batch_waiters_share_syncs_and_see_their_records_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("j")).unwrap();
        let d = Arc::new(Durability::new(Fsync::Batch, Some(file), 0));
        let mut waits = Vec::new();
        for seq in 1..=200u64 {
            assert_eq!(d.written(seq).unwrap(), Some(seq));
            let d = d.clone();
            waits.push(tokio::spawn(async move { d.wait(seq).await }));
        }
        for w in waits {
            w.await.unwrap().unwrap();
        }
        assert_eq!(d.lock().synced, 200);
        assert!(d.syncs() >= 1 && d.syncs() <= 200);
        // Already on disk: nothing to wait for.
        assert_eq!(d.written(200).unwrap(), None);
    }

    #[test]
    fn always_syncs_before_returning_and_never_does_not_sync() {
        let dir = tempfile::tempdir().unwrap();
        let d = Durability::new(
            Fsync::Always,
            Some(File::create(dir.path().join("a")).unwrap()),
            0,
        );
        assert_eq!(d.written(1).unwrap(), None);
        assert_eq!(d.lock().synced, 1);
        assert_eq!(d.syncs(), 1);
        let d = Durability::new(
            Fsync::Never,
            Some(File::create(dir.path().join("n")).unwrap()),
            0,
        );
        assert_eq!(d.written(1).unwrap(), None);
        assert_eq!(d.syncs(), 0);
        d.fail("test");
        assert!(d.refusal().is_none(), "never refuses: it promised no disk");
    }

    #[test]
    fn after_a_failure_a_durable_mode_acknowledges_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = Durability::new(
            Fsync::Batch,
            Some(File::create(dir.path().join("b")).unwrap()),
            0,
        );
        d.fail("disk on fire");
        assert!(d.refusal().is_some());
        assert!(d.written(1).is_err());
    }
}
