//! Group commit: one thread per spool forces appended segment files to disk, so that the thread
//! appending batches never waits for the disk.
//!
//! Each append asks for a sync; a sync covers every append made before it started, so the
//! batches appended while one runs share the next (the way databases commit their logs). With
//! `fsync: batch` every batch is thus covered by an `fdatasync` that starts after it was
//! written, and the appending thread writes at the speed of the page cache rather than one batch
//! per disk sync. Whoever needs the records on disk (a flush, the spool closing) asks for a sync
//! and waits for that one.

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

/// The sync thread of one spool; stopping it (on drop) first completes what was asked.
pub(crate) struct Syncer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A sync that was asked for, to wait for.
#[derive(Clone)]
pub(crate) struct PendingSync {
    shared: Arc<Shared>,
    ticket: u64,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a sync is asked for, and to stop.
    asked: Condvar,
    /// Signalled when a sync completes.
    completed: Condvar,
}

#[derive(Default)]
struct State {
    /// Files written since the last sync began (one per segment: a sealed segment stays here
    /// until synced even though the spool writes to the next one).
    files: Vec<Arc<File>>,
    /// Syncs asked for, and completed, since the start: a sync started when `asked` was n
    /// covers every append made before it.
    asked: u64,
    done: u64,
    /// The last sync that failed, until someone reads it.
    error: Option<io::Error>,
    stop: bool,
}

impl Syncer {
    /// Starts the sync thread.
    pub fn start() -> io::Result<Syncer> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            asked: Condvar::new(),
            completed: Condvar::new(),
        });
        let thread = std::thread::Builder::new()
            .name("siem-spool-sync".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&shared)
            })?;
        Ok(Syncer {
            shared,
            thread: Some(thread),
        })
    }

    /// Asks for `file`'s written data to be forced to disk, without waiting.
    pub fn ask(&self, file: &Arc<File>) -> PendingSync {
        let mut s = self.shared.state.lock();
        if !s.files.iter().any(|f| Arc::ptr_eq(f, file)) {
            s.files.push(Arc::clone(file));
        }
        s.asked += 1;
        let ticket = s.asked;
        drop(s);
        self.shared.asked.notify_one();
        PendingSync {
            shared: Arc::clone(&self.shared),
            ticket,
        }
    }

    /// The error of a sync that failed since the last call, if any.
    pub fn take_error(&self) -> Option<io::Error> {
        self.shared.state.lock().error.take()
    }
}

impl PendingSync {
    /// Waits until the sync covers what was written before it was asked for; the error of a
    /// failed sync meanwhile, if any.
    pub fn wait(&self) -> io::Result<()> {
        let mut s = self.shared.state.lock();
        while s.done < self.ticket {
            self.shared.completed.wait(&mut s);
        }
        s.error.take().map_or(Ok(()), Err)
    }

    /// The number of the ask this sync answers (1 for the spool's first).
    #[cfg(test)]
    pub fn ticket(&self) -> u64 {
        self.ticket
    }
}

fn run(shared: &Shared) {
    let mut s = shared.state.lock();
    loop {
        while s.asked == s.done && !s.stop {
            shared.asked.wait(&mut s);
        }
        if s.asked == s.done {
            return;
        }
        let covers = s.asked;
        let files = std::mem::take(&mut s.files);
        drop(s);
        let synced = files.iter().try_for_each(|f| f.sync_data());
        s = shared.state.lock();
        s.done = covers;
        if let Err(e) = synced {
            s.error = Some(e);
        }
        shared.completed.notify_all();
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.shared.state.lock().stop = true;
        self.shared.asked.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_wait_returns_once_its_sync_is_done_and_drop_completes_what_was_asked() {
        let dir = tempfile::tempdir().unwrap();
        let file = Arc::new(File::create(dir.path().join("seg")).unwrap());
        let syncer = Syncer::start().unwrap();
        let mut pending = Vec::new();
        for i in 0..50u8 {
            (&*file).write_all(&[i; 512]).unwrap();
            pending.push(syncer.ask(&file));
        }
        pending.pop().unwrap().wait().unwrap();
        let state = syncer.shared.state.lock();
        assert_eq!(state.done, 50, "the last wait covers every earlier ask");
        assert!(state.files.is_empty());
        drop(state);
        let last = syncer.ask(&file);
        drop(syncer);
        // The thread finished the last ask before stopping.
        last.wait().unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("seg")).unwrap().len(),
            50 * 512
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_failed_sync_is_reported_once() {
        let (reader, _writer) = pipe();
        let syncer = Syncer::start().unwrap();
        let result = syncer.ask(&Arc::new(reader)).wait();
        assert!(result.is_err(), "fdatasync on a pipe fails (EINVAL)");
        assert!(syncer.take_error().is_none(), "the wait took the error");
    }

    #[cfg(unix)]
    fn pipe() -> (File, File) {
        use std::os::fd::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: `pipe` fills two new descriptors, each then owned by one `File`.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
    }
}
