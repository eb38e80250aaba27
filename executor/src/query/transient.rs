//! The stages below the repartitions of a push query: each writes its repartition topic,
//! which the push query's own task reads. Nothing of a push query survives it: its topics
//! (named per run) and the state its stages wrote are deleted when it ends, and those a
//! crash left behind are deleted before a run of the same number starts.

use std::sync::Arc;

use planner::plan::{DataflowNode, DataflowPlan, StageInput};

use super::{StartPosition, TASK_TIME_STATE, task_config};
use crate::Result;
use crate::commit::{Committer, Epoch};
use crate::graph::{OperatorGraph, StatePrefix};
use crate::log::TopicLog;
use crate::metrics::Metrics;
use crate::state::StateStore;
use crate::task::{InputSpec, Task, TaskCommit};

/// Makes a push query stage's epochs visible, atomically or not: a push query resumes
/// nothing. Its records go to the log, its state writes to the state store (under the
/// query's transient prefix); its offsets are dropped.
struct TransientCommitter {
    log: Arc<dyn TopicLog>,
    state: StateStore,
}

impl Committer for TransientCommitter {
    fn commit(&self, _task: &str, epoch: Epoch) -> Result<()> {
        let mut by_topic: Vec<(String, Vec<(u32, crate::log::Record)>)> = Vec::new();
        for (topic, partition, record) in epoch.records {
            match by_topic.iter_mut().find(|(name, _)| *name == topic) {
                Some((_, records)) => records.push((partition, record)),
                None => by_topic.push((topic, vec![(partition, record)])),
            }
        }
        for (topic, records) in by_topic {
            self.log.produce(&topic, records)?;
        }
        self.state.apply(&epoch.state)
    }
}

/// Names the repartition topics of push query `number` and creates them afresh.
pub(super) fn create_topics(
    plan: &mut DataflowPlan,
    number: u64,
    log: &dyn TopicLog,
) -> Result<Vec<String>> {
    plan.root
        .assign_internal_topics(&format!("_confluent-ksql-default_transient_{number}-"));
    let mut topics = Vec::new();
    for repartition in plan.root.repartitions() {
        if log.describe_topic(&repartition.topic)?.is_some() {
            log.delete_topic(&repartition.topic)?;
        }
        log.create_topic(&repartition.topic, repartition.partitions, 1)?;
        topics.push(repartition.topic.clone());
    }
    Ok(topics)
}

/// The inputs of the stage rooted at `node`: its sources from `start`, the repartition
/// topics it reads from their beginning; until `end` offsets only when `until_end` (sources
/// only: a pull query does not repartition).
pub(super) fn stage_inputs(
    node: &DataflowNode,
    log: &dyn TopicLog,
    start: StartPosition,
    until_end: bool,
) -> Result<Vec<InputSpec>> {
    let mut inputs = Vec::new();
    for (source, input) in node.stage_inputs().into_iter().enumerate() {
        let start = match input {
            StageInput::Source(_) => start,
            StageInput::Repartition(_) => StartPosition::Earliest,
        };
        for (partition, (earliest, next)) in log.offsets(input.topic())?.into_iter().enumerate() {
            inputs.push(InputSpec {
                source,
                topic: input.topic().to_string(),
                partition: partition as u32,
                offset: match start {
                    StartPosition::Earliest => earliest,
                    StartPosition::Latest => next,
                },
                end: until_end.then_some(next),
            });
        }
    }
    Ok(inputs)
}

/// One task per stage below a repartition of `plan` (whose topics `create_topics` made),
/// each writing its topic.
pub(super) fn stage_tasks(
    plan: &DataflowPlan,
    log: &Arc<dyn TopicLog>,
    metrics: &Metrics,
    start: StartPosition,
    prefix: &StatePrefix,
) -> Result<Vec<Task>> {
    let committer: Arc<dyn Committer> = Arc::new(TransientCommitter {
        log: Arc::clone(log),
        state: prefix.store.clone(),
    });
    let mut tasks = Vec::new();
    for repartition in plan.root.repartitions() {
        let counters = metrics.counters(&repartition.topic);
        tasks.push(Task::new(
            format!("{}/{}", prefix.prefix, repartition.name),
            OperatorGraph::compile_repartition(repartition, metrics, Some(prefix))?,
            Arc::clone(log).consumer()?,
            stage_inputs(&repartition.input, log.as_ref(), start, false)?,
            task_config(plan),
            Some(TaskCommit {
                committer: Arc::clone(&committer),
                group: prefix.prefix.clone(),
                times: prefix.table(TASK_TIME_STATE),
                query_counters: Arc::clone(&counters),
                sink_counters: counters,
            }),
        )?);
    }
    Ok(tasks)
}

/// Deletes what push query `prefix` left: its repartition topics and its stages' state.
pub(super) fn clean_up(log: &dyn TopicLog, prefix: &StatePrefix, topics: &[String]) -> Result<()> {
    for topic in topics {
        if log.describe_topic(topic)?.is_some() {
            log.delete_topic(topic)?;
        }
    }
    prefix.store.delete_prefix(&format!("{}/", prefix.prefix))
}
