//! A persistent query whose partitions are split among the servers of a service through
//! its consumer group (the Kafka backend): the query's thread keeps the membership and runs
//! tasks over the partitions the group assigns to this server, stopping them (their epochs
//! committed) before the partitions move. Between polls, the state of the partitions
//! other servers own follows their changelog (`Committer::follow`): standby state that pull
//! queries on this server read and that a takeover starts from.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{PersistentQuery, run_tasks};
use crate::log::ConsumerWaker;
use crate::log::kafka::{GroupMembership, RebalanceListener};
use crate::task::Task;
use crate::{ExecError, Result};

/// How often the membership is polled (heartbeats are sent by the client's own thread).
const POLL: Duration = Duration::from_millis(100);

/// Tasks running over the partitions this server owns.
struct Running {
    stop: Arc<AtomicBool>,
    wakers: Vec<ConsumerWaker>,
    thread: JoinHandle<Result<()>>,
}

/// Starts and stops the query's tasks as the group assigns and revokes partitions.
struct Listener {
    query: Arc<PersistentQuery>,
    running: Mutex<Option<Running>>,
    /// The first error of the tasks or of starting them: the query fails with it.
    failure: Mutex<Option<ExecError>>,
    /// The input partition numbers this server owns.
    owned: Mutex<BTreeSet<u32>>,
}

impl Listener {
    fn fail(&self, error: ExecError) {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(error);
    }

    fn start(&self, owned: &BTreeSet<(String, u32)>) -> Result<()> {
        let tasks: Vec<Task> = self.query.tasks(Some(owned))?;
        let wakers: Vec<ConsumerWaker> = tasks.iter().map(Task::waker).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name(format!("query-{}", self.query.id))
            .spawn({
                let stop = Arc::clone(&stop);
                let wakers = wakers.clone();
                let group = self.query.id.clone();
                move || run_tasks(tasks, &stop, &wakers, &group)
            })?;
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some(Running {
            stop,
            wakers,
            thread,
        });
        Ok(())
    }

    /// Whether the running tasks ended by themselves (an error).
    fn check(&self) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.as_ref().is_some_and(|r| r.thread.is_finished())
            && let Some(finished) = running.take()
            && let Err(error) = join(finished.thread)
        {
            drop(running);
            self.fail(error);
        }
    }
}

fn join(thread: JoinHandle<Result<()>>) -> Result<()> {
    thread
        .join()
        .unwrap_or_else(|_| Err(ExecError::Internal("a query task panicked".into())))
}

impl RebalanceListener for Listener {
    fn revoked(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(running) = running {
            running.stop.store(true, Ordering::SeqCst);
            for waker in &running.wakers {
                waker.wake();
            }
            if let Err(error) = join(running.thread) {
                self.fail(error);
            }
        }
        self.owned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        tracing::info!(query = %self.query.id, "partitions revoked");
    }

    fn assigned(&self, partitions: Vec<(String, u32)>) {
        tracing::info!(query = %self.query.id, ?partitions, "partitions assigned");
        let owned: BTreeSet<(String, u32)> = partitions.into_iter().collect();
        *self.owned.lock().unwrap_or_else(PoisonError::into_inner) =
            owned.iter().map(|(_, partition)| *partition).collect();
        if owned.is_empty() {
            return;
        }
        if let Err(error) = self.start(&owned) {
            self.fail(error);
        }
    }
}

/// Runs `query` as a member of its consumer group until `stop` is set or it fails.
pub(super) fn run_in_group(
    query: Arc<PersistentQuery>,
    groups: &dyn GroupMembership,
    stop: &AtomicBool,
) -> Result<()> {
    let mut topics: Vec<String> = Vec::new();
    for (topic, _) in query.stage_topics().into_iter().flatten() {
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    let listener = Arc::new(Listener {
        query: Arc::clone(&query),
        running: Mutex::new(None),
        failure: Mutex::new(None),
        owned: Mutex::new(BTreeSet::new()),
    });
    let mut member = groups.join(&query.id, &topics, Arc::clone(&listener) as _)?;
    while !stop.load(Ordering::SeqCst) {
        member.poll(POLL);
        listener.check();
        // The state of the partitions other servers own follows their changelogs, so that
        // pull queries here see every key and a takeover starts from recent state.
        let owned = listener
            .owned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Err(error) = query.backend.committer.follow(&query.id, &owned) {
            tracing::warn!(query = %query.id, "following other servers' state failed: {error}");
        }
        let failure = listener
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(error) = failure {
            member.leave();
            return Err(error);
        }
    }
    member.leave();
    Ok(())
}
