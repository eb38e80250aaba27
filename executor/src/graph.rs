//! The operator graph of one task: a dataflow plan compiled to operators.
//!
//! Each plan source becomes a `SourceOperator` (numbered depth first in input order, as
//! `DataflowNode::sources` lists them); each run of filters and projections one
//! `StatelessOperator`; each other node its operator; a persistent query's sink is the root.
//! A batch decoded by source `i` flows up through the operators to the root; what the root
//! emits is the graph's output. State tables are the plan's names under the query's state
//! prefix (`StatePrefix`).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use planner::plan::{DataflowNode, DataflowPlan, RepartitionNode};

use crate::commit::StateWrite;
use crate::log::{ConsumedRecord, Header};
use crate::metrics::{Counters, Metrics};
use crate::operator::aggregate::{AggregateOperator, AggregateState};
use crate::operator::join::{JoinOperator, JoinState};
use crate::operator::repartition::{RepartitionDecoder, RepartitionOperator, StageSourceOperator};
use crate::operator::sink::{SinkOperator, table_state_id};
use crate::operator::source::SourceOperator;
use crate::operator::stateless::StatelessOperator;
use crate::operator::{Operator, OperatorContext};
use crate::state::{StateStore, StateTable};
use crate::{ExecError, Result};

/// Where a query's state tables live: `<prefix>/<table>` in the state store.
#[derive(Debug, Clone)]
pub struct StatePrefix {
    pub store: StateStore,
    /// The query id (persistent queries) or `transient/<n>`.
    pub prefix: String,
}

impl StatePrefix {
    /// The state table `name` of the plan.
    pub fn table(&self, name: &str) -> StateTable {
        self.store.table(&query_state_table(&self.prefix, name))
    }
}

/// The id of state table `name` of the query whose state prefix is `prefix`.
pub fn query_state_table(prefix: &str, name: &str) -> String {
    format!("{prefix}/{name}")
}

/// Where an operator's output goes: the operator (`node`) and which of its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Edge {
    node: usize,
    input: usize,
}

struct Node {
    operator: Box<dyn Operator>,
    /// `None`: the root; its output is the graph's.
    downstream: Option<Edge>,
    /// Whether each output row comes from one input row (filters and projections: see
    /// `Operator::process_tracked`).
    row_local: bool,
}

/// The operator of several inputs that every source reaches through filters and
/// projections only (a join of two sources): runs of records of all sources can be decoded
/// and filtered one batch per source and handed to it together (`OperatorGraph::push_run`).
#[derive(Debug, Clone)]
struct MergePoint {
    node: usize,
    /// Per source: the row-local nodes on its way up, and the input of `node` it feeds.
    paths: Vec<(Vec<usize>, usize)>,
}

struct Source {
    operator: StageSourceOperator,
    downstream: Option<Edge>,
}

/// The operators of one task, wired as the plan's tree.
pub struct OperatorGraph {
    sources: Vec<Source>,
    /// Children before parents: an operator's upstream nodes have smaller indices.
    nodes: Vec<Node>,
    /// The schema of the rows the graph emits (a sink emits none).
    output_schema: SchemaRef,
    /// No rows of `output_schema`, made on first use (a pull query's graph runs once).
    empty_output: Option<RecordBatch>,
    merge: Option<MergePoint>,
}

impl OperatorGraph {
    /// A graph without operators yet that will emit rows of `schema`.
    fn empty(schema: &datafusion::common::DFSchemaRef) -> Self {
        OperatorGraph {
            sources: Vec::new(),
            nodes: Vec::new(),
            output_schema: Arc::new(schema.as_arrow().clone()),
            empty_output: None,
            merge: None,
        }
    }

    /// Compiles `plan`; with `sink`, the plan's sink is the root and the graph emits no rows
    /// (it produces records into the epoch). Stateful plans need `state`.
    pub fn compile(
        plan: &DataflowPlan,
        metrics: &Metrics,
        state: Option<&StatePrefix>,
        sink: bool,
    ) -> Result<Self> {
        let mut graph = OperatorGraph::empty(plan.root.schema());
        let root = graph.compile_node(&plan.root, metrics, state)?;
        if sink {
            let sink_plan = plan
                .sink
                .as_ref()
                .ok_or_else(|| ExecError::Internal("persistent query without a sink".into()))?;
            let materialized = state
                .filter(|_| sink_plan.materialize)
                .map(|state| state.store.write_table(&table_state_id(&sink_plan.name)));
            let operator = SinkOperator::new(
                sink_plan,
                materialized,
                first_source_counters(&plan.root, metrics),
            )?;
            graph.add(Box::new(operator), vec![root]);
        }
        graph.merge = graph.merge_point();
        Ok(graph)
    }

    /// The operator every source reaches through row-local nodes only, if there is one and
    /// the sources feed each of its inputs once.
    fn merge_point(&self) -> Option<MergePoint> {
        let mut target = None;
        let mut paths = Vec::with_capacity(self.sources.len());
        for source in &self.sources {
            let mut path = Vec::new();
            let mut edge = source.downstream?;
            while self.nodes[edge.node].row_local {
                path.push(edge.node);
                edge = self.nodes[edge.node].downstream?;
            }
            if *target.get_or_insert(edge.node) != edge.node {
                return None;
            }
            paths.push((path, edge.input));
        }
        let mut inputs: Vec<usize> = paths.iter().map(|(_, input)| *input).collect();
        inputs.sort_unstable();
        let distinct = inputs
            .iter()
            .enumerate()
            .all(|(index, input)| index == *input);
        (inputs.len() > 1 && distinct).then(|| MergePoint {
            node: target.expect("several sources"),
            paths,
        })
    }

    /// Compiles the stage below `repartition`: its input, with the operator writing the rows
    /// into the repartition topic as the root (the graph emits no rows). Its sources are
    /// `repartition.input.stage_inputs()`.
    pub fn compile_repartition(
        repartition: &RepartitionNode,
        metrics: &Metrics,
        state: Option<&StatePrefix>,
    ) -> Result<Self> {
        let mut graph = OperatorGraph::empty(repartition.schema());
        let input = graph.compile_node(&repartition.input, metrics, state)?;
        graph.add(
            Box::new(RepartitionOperator::new(repartition)?),
            vec![input],
        );
        graph.merge = graph.merge_point();
        Ok(graph)
    }

    /// Compiles `node`; returns where its rows come from: an operator, or a source.
    fn compile_node(
        &mut self,
        node: &DataflowNode,
        metrics: &Metrics,
        state: Option<&StatePrefix>,
    ) -> Result<Upstream> {
        self.compile_reading(node, metrics, state, None)
    }

    /// `compile_node`, where the nodes above read only the columns in `read` of `node` when
    /// it is a source (`None`: every column).
    fn compile_reading(
        &mut self,
        node: &DataflowNode,
        metrics: &Metrics,
        state: Option<&StatePrefix>,
        mut read: Option<HashSet<String>>,
    ) -> Result<Upstream> {
        match node {
            DataflowNode::Source(source) => {
                let previous = match (&source.state, state) {
                    (Some(name), Some(state)) => Some(state.table(name)),
                    _ => None,
                };
                let mut operator =
                    SourceOperator::new(source, previous, metrics.counters(&source.name))?;
                if let Some(read) = read.take() {
                    operator.read_only(&read);
                }
                self.sources.push(Source {
                    operator: StageSourceOperator::Topic(Box::new(operator)),
                    downstream: None,
                });
                Ok(Upstream::Source(self.sources.len() - 1))
            }
            // The stage above a repartition reads its topic (`compile_repartition` compiles
            // the stage below).
            DataflowNode::Repartition(repartition) => {
                let decoder =
                    RepartitionDecoder::new(repartition, metrics.counters(&repartition.topic))?;
                self.sources.push(Source {
                    operator: StageSourceOperator::Repartition(decoder),
                    downstream: None,
                });
                Ok(Upstream::Source(self.sources.len() - 1))
            }
            DataflowNode::Filter(_) | DataflowNode::Project(_) | DataflowNode::TableFunction(_) => {
                // A run of filters, projections and table functions is one operator.
                let (operator, bottom) = StatelessOperator::compile(node, metrics)?;
                let upstream = self.compile_reading(bottom, metrics, state, columns_read(node))?;
                let added = self.add(Box::new(operator), vec![upstream]);
                self.nodes.last_mut().expect("just added").row_local = true;
                Ok(added)
            }
            DataflowNode::Join(join) => {
                let left = self.compile_node(&join.left, metrics, state)?;
                let right = self.compile_node(&join.right, metrics, state)?;
                let state = state
                    .ok_or_else(|| ExecError::Internal("a join needs a state store".into()))?;
                let operator = JoinOperator::new(
                    join,
                    JoinState {
                        left: state.table(&join.state.left),
                        right: state.table(&join.state.right),
                        pending: state.table(&join.state.pending),
                    },
                    first_source_counters(node, metrics),
                )?;
                Ok(self.add(Box::new(operator), vec![left, right]))
            }
            DataflowNode::Aggregate(aggregate) => {
                let upstream = self.compile_node(&aggregate.input, metrics, state)?;
                let state = state.ok_or_else(|| {
                    ExecError::Internal("an aggregation needs a state store".into())
                })?;
                let operator = AggregateOperator::new(
                    aggregate,
                    AggregateState {
                        groups: state.table(&aggregate.state.groups),
                        times: state.table(&aggregate.state.time),
                        open: aggregate.state.open.as_ref().map(|name| state.table(name)),
                    },
                    first_source_counters(node, metrics),
                )?;
                Ok(self.add(Box::new(operator), vec![upstream]))
            }
        }
    }

    /// Adds an operator reading `inputs` (input 0 first); returns it as an upstream.
    fn add(&mut self, operator: Box<dyn Operator>, inputs: Vec<Upstream>) -> Upstream {
        let node = self.nodes.len();
        for (input, upstream) in inputs.into_iter().enumerate() {
            let edge = Some(Edge { node, input });
            match upstream {
                Upstream::Source(index) => self.sources[index].downstream = edge,
                Upstream::Node(index) => self.nodes[index].downstream = edge,
            }
        }
        self.nodes.push(Node {
            operator,
            downstream: None,
            row_local: false,
        });
        Upstream::Node(node)
    }

    /// The sources count their consumed records only when `publish_counts` is called: a
    /// committing task calls it once an epoch is durable.
    pub fn defer_counts(&mut self) {
        for source in &mut self.sources {
            source.operator.defer_counts();
        }
    }

    /// Counts the records the sources decoded since the last call (see `defer_counts`).
    pub fn publish_counts(&mut self) {
        for source in &mut self.sources {
            source.operator.publish_counts();
        }
    }

    /// The schema of the rows the graph emits.
    pub fn output_schema(&self) -> &SchemaRef {
        &self.output_schema
    }

    /// How many leading output columns a client sees (all but `$rowtime` and the hidden
    /// columns after it).
    pub fn visible_columns(&self) -> usize {
        self.output_schema
            .index_of(planner::plan::ROWTIME_OUTPUT)
            .unwrap_or(self.output_schema.fields().len())
    }

    /// Decodes records of source `source` and runs them through the graph; returns what
    /// the root emits.
    pub fn push(
        &mut self,
        source: usize,
        records: &[ConsumedRecord],
        context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        let entry = self
            .sources
            .get_mut(source)
            .ok_or_else(|| ExecError::Internal(format!("the graph has no source {source}")))?;
        let downstream = entry.downstream;
        if !has_headers(records) {
            let batch = entry.operator.decode(records)?;
            return self.forward(downstream, batch, None, context);
        }
        let (batch, origins) = entry.operator.decode_tracked(records)?;
        let headers: Vec<&[Header]> = records
            .iter()
            .map(|r| r.record.headers.as_slice())
            .collect();
        self.forward(downstream, batch, Some((origins, &headers)), context)
    }

    /// Runs records of several sources through the graph as if each chunk were pushed in
    /// turn: `(i, n)` in `chunks` is the next `n` of the records `inputs[i]` holds for its
    /// source. With a merge point, each source's records are decoded (and filtered and
    /// projected) in one batch and the merge point gets the rows of every chunk in one call;
    /// returns what the root emits (possibly nothing).
    pub fn push_run(
        &mut self,
        inputs: &[(usize, Vec<ConsumedRecord>)],
        chunks: &[(usize, usize)],
        context: &mut OperatorContext<'_>,
    ) -> Result<Vec<RecordBatch>> {
        let merge = self.merge.clone().filter(|merge| {
            let mut fed: Vec<usize> = inputs
                .iter()
                .filter_map(|(source, _)| Some(merge.paths.get(*source)?.1))
                .collect();
            fed.sort_unstable();
            fed.dedup();
            chunks.len() > 1 && fed.len() == inputs.len() && fed.len() == merge.paths.len()
        });
        let Some(merge) = merge else {
            let mut outputs = Vec::new();
            let mut cursors = vec![0; inputs.len()];
            for (position, count) in chunks {
                let (source, records) = &inputs[*position];
                let start = cursors[*position];
                cursors[*position] += count;
                let output = self.push(*source, &records[start..start + count], context)?;
                if output.num_rows() > 0 {
                    outputs.push(output);
                }
            }
            return Ok(outputs);
        };
        let mut batches = Vec::with_capacity(inputs.len());
        let mut origins = Vec::with_capacity(inputs.len());
        let mut fed = Vec::with_capacity(inputs.len());
        for (source, records) in inputs {
            let (mut batch, mut rows) = self.sources[*source].operator.decode_tracked(records)?;
            let (path, input) = &merge.paths[*source];
            for node in path {
                batch = self.nodes[*node]
                    .operator
                    .process_tracked(0, batch, &mut rows, context)
                    .ok_or_else(|| {
                        ExecError::Internal("a row-local node does not track its rows".into())
                    })??;
            }
            batches.push((*input, batch));
            origins.push(rows);
            fed.push(*input);
        }
        // The rows of each chunk: those whose records are in it.
        let mut runs: Vec<(usize, std::ops::Range<usize>)> = Vec::with_capacity(chunks.len());
        let mut cursors = vec![0; inputs.len()];
        for (position, count) in chunks {
            let (start, end) = (cursors[*position], cursors[*position] + count);
            cursors[*position] = end;
            let origins = &origins[*position];
            let rows = origins.partition_point(|record| (*record as usize) < start)
                ..origins.partition_point(|record| (*record as usize) < end);
            let input = fed[*position];
            match runs.last_mut() {
                _ if rows.is_empty() => {}
                Some((last, last_rows)) if *last == input && last_rows.end == rows.start => {
                    last_rows.end = rows.end;
                }
                _ => runs.push((input, rows)),
            }
        }
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        // With headers, each row names its record among all of `inputs`' records.
        let traced = inputs.iter().any(|(_, records)| has_headers(records));
        let headers: Vec<&[Header]> = match traced {
            true => inputs
                .iter()
                .flat_map(|(_, records)| records.iter().map(|r| r.record.headers.as_slice()))
                .collect(),
            false => Vec::new(),
        };
        let mut tracked: Vec<(usize, Vec<u32>)> = Vec::new();
        if traced {
            let mut base = 0u32;
            for (position, (_, records)) in inputs.iter().enumerate() {
                let rows = origins[position].iter().map(|row| base + row).collect();
                tracked.push((fed[position], rows));
                base += records.len() as u32;
            }
            tracked.sort_by_key(|(input, _)| *input);
        }
        batches.sort_by_key(|(input, _)| *input);
        let batches: Vec<RecordBatch> = batches.into_iter().map(|(_, batch)| batch).collect();
        let node = &mut self.nodes[merge.node];
        let tracked: Vec<Vec<u32>> = tracked.into_iter().map(|(_, rows)| rows).collect();
        let (output, trace) = match traced
            .then(|| {
                node.operator
                    .process_runs_tracked(&batches, &runs, &tracked, context)
            })
            .flatten()
        {
            Some(result) => {
                let (output, rows) = result?;
                (output, Some((rows, headers.as_slice())))
            }
            None => (node.operator.process_runs(&batches, &runs, context)?, None),
        };
        let downstream = node.downstream;
        let output = self.forward(downstream, output, trace, context)?;
        Ok(if output.num_rows() > 0 {
            vec![output]
        } else {
            Vec::new()
        })
    }

    /// Runs `batch` from `edge` up to the root. With `trace`, `(rows, headers)`: the
    /// entry in `headers` of the record each row of `batch` comes from; operators that
    /// track their rows keep it up to date, and the first that does not (a sink, a
    /// repartition) sees each row's headers in its context.
    fn forward(
        &mut self,
        mut edge: Option<Edge>,
        mut batch: RecordBatch,
        mut trace: Option<(Vec<u32>, &[&[Header]])>,
        context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        while let Some(Edge { node, input }) = edge {
            if batch.num_rows() == 0 {
                // Nothing to do: no operator emits anything for no rows.
                let schema = &self.output_schema;
                let empty = self
                    .empty_output
                    .get_or_insert_with(|| RecordBatch::new_empty(Arc::clone(schema)));
                return Ok(empty.clone());
            }
            let node = &mut self.nodes[node];
            batch = match trace.take() {
                Some((mut rows, headers)) => {
                    match node
                        .operator
                        .process_tracked(input, batch.clone(), &mut rows, context)
                    {
                        Some(output) => {
                            trace = Some((rows, headers));
                            output?
                        }
                        None => {
                            context.headers = Some(
                                rows.iter()
                                    .map(|row| headers[*row as usize].to_vec())
                                    .collect(),
                            );
                            let output = node.operator.process(input, batch, context);
                            context.headers = None;
                            output?
                        }
                    }
                }
                None => node.operator.process(input, batch, context)?,
            };
            edge = node.downstream;
        }
        Ok(batch)
    }

    /// Tells every operator that stream time advanced to `time`; returns what the root
    /// emits as a result.
    pub fn advance_time(
        &mut self,
        time: i64,
        context: &mut OperatorContext<'_>,
    ) -> Result<Vec<RecordBatch>> {
        self.each_node(context, |operator, context| {
            operator.advance_time(time, context)
        })
    }

    /// Ends the epoch: every operator flushes what it buffered; returns what the root emits.
    pub fn flush(&mut self, context: &mut OperatorContext<'_>) -> Result<Vec<RecordBatch>> {
        self.each_node(context, |operator, context| operator.flush(context))
    }

    /// Calls `call` on every operator, children first, and runs what each emits up to the
    /// root.
    fn each_node(
        &mut self,
        context: &mut OperatorContext<'_>,
        mut call: impl FnMut(&mut dyn Operator, &mut OperatorContext<'_>) -> Result<Option<RecordBatch>>,
    ) -> Result<Vec<RecordBatch>> {
        let mut emitted = Vec::new();
        for index in 0..self.nodes.len() {
            let node = &mut self.nodes[index];
            if let Some(batch) = call(node.operator.as_mut(), context)? {
                let downstream = node.downstream;
                let output = self.forward(downstream, batch, None, context)?;
                if output.num_rows() > 0 {
                    emitted.push(output);
                }
            }
        }
        Ok(emitted)
    }

    /// Every operator's state writes since the last call, in the order they were made
    /// (the task sorts the epoch's writes by key).
    pub fn take_writes(&mut self) -> Result<Vec<StateWrite>> {
        let mut writes = Vec::new();
        for source in &mut self.sources {
            source.operator.take_writes(&mut writes);
        }
        for node in &mut self.nodes {
            node.operator.take_writes(&mut writes)?;
        }
        Ok(writes)
    }
}

/// Whether any of `records` carries headers (the graph then tracks each row's record).
fn has_headers(records: &[ConsumedRecord]) -> bool {
    records
        .iter()
        .any(|record| !record.record.headers.is_empty())
}

/// The counters of the first source `node` reads: where a stateful operator counts the
/// records it drops as late.
/// The columns of the source below a run of filters and projections (topped by `top`) that
/// the run reads, when its top is a projection (which passes on only what it names) and its
/// bottom a source; `None`: every column may be read.
fn columns_read(top: &DataflowNode) -> Option<HashSet<String>> {
    let DataflowNode::Project(project) = top else {
        return None;
    };
    let mut read = HashSet::new();
    let add = |read: &mut HashSet<String>, expr: &datafusion::logical_expr::Expr| {
        read.extend(
            expr.column_refs()
                .into_iter()
                .map(|column| column.name.clone()),
        );
    };
    project.exprs.iter().for_each(|expr| add(&mut read, expr));
    let mut node = project.input.as_ref();
    loop {
        match node {
            DataflowNode::Filter(filter) => {
                add(&mut read, &filter.predicate);
                node = &filter.input;
            }
            DataflowNode::TableFunction(table_function) => {
                for call in &table_function.calls {
                    call.args.iter().for_each(|arg| add(&mut read, arg));
                }
                node = &table_function.input;
            }
            // What the nodes above read, this projection computes from these.
            DataflowNode::Project(inner) => {
                read.clear();
                inner.exprs.iter().for_each(|expr| add(&mut read, expr));
                node = &inner.input;
            }
            DataflowNode::Source(_) => return Some(read),
            _ => return None,
        }
    }
}

fn first_source_counters(node: &DataflowNode, metrics: &Metrics) -> Arc<Counters> {
    let name = node
        .sources()
        .first()
        .map(|source| source.name.clone())
        .unwrap_or_default();
    metrics.counters(&name)
}

/// Where a compiled node's rows come from.
#[derive(Debug, Clone, Copy)]
enum Upstream {
    Source(usize),
    Node(usize),
}
