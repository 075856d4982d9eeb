//! Runs of the LangGraph Platform protocol: at most one executing per thread, the others
//! queued or refused by their multitask strategy; each run's stream kept on a bus that
//! any number of clients can follow, join late or rejoin after a disconnect (resumable
//! runs also keep their events in the database, so rejoining survives a restart).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use bytes::Bytes;
use fustat_persistence::HubRepo;
use fustat_persistence::hub::{EventRecord, RunRecord, merge_metadata};
use fustat_runtime::event::{EventKind, RunStatus};
use fustat_runtime::run::{RunInput, RunRequest};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::convert::{interrupts_of, values_of};
use super::encoder::{Encoder, Mode, Out, RunInfo, error_out};
use crate::engine::{Assistant, Engine};
use crate::error::{ApiError, ApiResult};

/// How long a finished run's events stay in memory for late joins.
const KEEP_FINISHED: Duration = Duration::from_secs(120);

/// How long a stream may stay silent before a heartbeat comment.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// What to do with a thread's in-flight runs when a new one arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multitask {
    /// Refuse the new run (409).
    Reject,
    /// Cancel the in-flight runs, keeping their work, then run.
    Interrupt,
    /// Cancel the in-flight runs and discard their work, then run.
    Rollback,
    /// Run after the in-flight runs.
    Enqueue,
}

impl Multitask {
    /// Parses the protocol's name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "reject" => Multitask::Reject,
            "interrupt" => Multitask::Interrupt,
            "rollback" => Multitask::Rollback,
            "enqueue" => Multitask::Enqueue,
            _ => return None,
        })
    }

    /// The protocol's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Multitask::Reject => "reject",
            Multitask::Interrupt => "interrupt",
            Multitask::Rollback => "rollback",
            Multitask::Enqueue => "enqueue",
        }
    }
}

/// How a cancelled run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAction {
    /// Keep what it did; the run ends `interrupted`.
    Interrupt,
    /// Discard the run and its checkpoints.
    Rollback,
}

/// Controls one run.
#[derive(Debug)]
pub struct RunControl {
    /// The run.
    pub run_id: String,
    /// Its thread.
    pub thread_id: String,
    cancel: CancellationToken,
    action: Mutex<CancelAction>,
    start: Notify,
}

impl RunControl {
    /// Cancels the run (or removes it from the queue).
    pub fn cancel(&self, action: CancelAction) {
        if let Ok(mut a) = self.action.lock() {
            // A rollback asked once stays a rollback.
            if *a != CancelAction::Rollback {
                *a = action;
            }
        }
        self.cancel.cancel();
    }

    fn action(&self) -> CancelAction {
        self.action
            .lock()
            .map(|a| *a)
            .unwrap_or(CancelAction::Interrupt)
    }
}

/// One event on a run's bus.
#[derive(Debug, Clone)]
struct Frame {
    seq: i64,
    event: String,
    data: String,
}

/// The outcome a `wait` caller gets.
#[derive(Debug, Clone, Default)]
struct Outcome {
    values: Option<Value>,
    error: Option<Value>,
}

/// A run's event stream: every event in order, plus whether the run is over.
#[derive(Debug)]
pub struct RunBus {
    frames: Mutex<Vec<Frame>>,
    state: watch::Sender<(usize, bool)>,
    outcome: Mutex<Outcome>,
    persist: Mutex<Option<mpsc::UnboundedSender<EventRecord>>>,
}

impl RunBus {
    fn new(persist: Option<mpsc::UnboundedSender<EventRecord>>) -> Self {
        RunBus {
            frames: Mutex::new(Vec::new()),
            state: watch::channel((0, false)).0,
            outcome: Mutex::new(Outcome::default()),
            persist: Mutex::new(persist),
        }
    }

    fn push(&self, out: Out) {
        let data = out.data.to_string();
        let Ok(mut frames) = self.frames.lock() else {
            return;
        };
        let seq = i64::try_from(frames.len()).unwrap_or(i64::MAX);
        if let Ok(p) = self.persist.lock()
            && let Some(tx) = p.as_ref()
        {
            let _ = tx.send(EventRecord {
                seq,
                event: out.event.clone(),
                data: data.clone(),
            });
        }
        frames.push(Frame {
            seq,
            event: out.event,
            data,
        });
        let len = frames.len();
        drop(frames);
        self.state.send_modify(|s| s.0 = len);
    }

    fn finish(&self, outcome: Outcome) {
        if let Ok(mut o) = self.outcome.lock() {
            *o = outcome;
        }
        self.state.send_modify(|s| s.1 = true);
    }

    /// True once the run is over.
    pub fn is_done(&self) -> bool {
        self.state.borrow().1
    }

    /// Waits for the end of the run.
    pub async fn done(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|s| s.1).await;
    }

    /// What `/runs/wait` answers: the last values (with `__interrupt__` if it paused), or
    /// `{"__error__": …}` if it failed; None when nothing was produced.
    pub fn wait_result(&self) -> Option<Value> {
        let o = self.outcome.lock().ok()?.clone();
        if let Some(e) = o.error {
            return Some(json!({ "__error__": e }));
        }
        o.values
    }

    fn frames_from(&self, from: usize) -> (Vec<Frame>, usize) {
        match self.frames.lock() {
            Ok(f) => (
                f.get(from..).map(<[Frame]>::to_vec).unwrap_or_default(),
                f.len(),
            ),
            Err(_) => (Vec::new(), from),
        }
    }
}

/// An SSE frame.
pub fn sse_frame(event: &str, data: &str, id: Option<i64>) -> String {
    match id {
        Some(id) => format!("event: {event}\ndata: {data}\nid: {id}\n\n"),
        None => format!("event: {event}\ndata: {data}\n\n"),
    }
}

/// What a new run needs.
pub struct RunSpec {
    /// The run's id.
    pub run_id: String,
    /// The thread it runs on.
    pub thread_id: String,
    /// What it runs.
    pub assistant: Assistant,
    /// What it starts with.
    pub input: RunInput,
    /// Fork from this checkpoint.
    pub checkpoint_id: Option<String>,
    /// Requested stream modes.
    pub modes: HashSet<Mode>,
    /// Stream sub-agent events, namespaced.
    pub subgraphs: bool,
    /// Keep events in the database.
    pub resumable: bool,
    /// What to do with in-flight runs.
    pub multitask: Multitask,
    /// The run's metadata.
    pub metadata: Value,
    /// The request as received (stored with the run).
    pub kwargs: Value,
    /// Wait this long before starting.
    pub after: Option<Duration>,
    /// Delete the thread once the run is over (stateless runs).
    pub delete_thread_after: bool,
    /// A state change applied when the run starts (`command.update`, `command.goto`).
    /// One that resolves the pause (`goto: "__end__"`) is all the run does.
    pub pre_update: Option<fustat_runtime::run::StateUpdate>,
}

#[derive(Debug, Default)]
struct Inner {
    queues: HashMap<String, VecDeque<Arc<RunControl>>>,
    buses: HashMap<String, Arc<RunBus>>,
}

/// The runs of the LangGraph protocol. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HubRuns {
    inner: Arc<Mutex<Inner>>,
    /// Threads, runs and events.
    pub repo: HubRepo,
    engine: Engine,
}

impl HubRuns {
    /// Runs over `repo`, executed by `engine`.
    pub fn new(repo: HubRepo, engine: Engine) -> Self {
        HubRuns {
            inner: Arc::new(Mutex::new(Inner::default())),
            repo,
            engine,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Marks runs a previous process left unfinished as failed, and their threads
    /// accordingly (call once at start, before serving).
    pub async fn recover(&self) -> Result<usize, String> {
        let threads = self
            .repo
            .fail_unfinished_runs("the server stopped while the run was in progress")
            .await
            .map_err(|e| e.to_string())?;
        for t in &threads {
            let error = json!({"error": "ServerRestarted",
                "message": "the server stopped while a run was in progress; send the message again"});
            self.repo
                .set_thread_status(t, "error", Some(error), false)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(threads.len())
    }

    /// The run controlling `run_id`, while it is queued or running.
    pub fn control(&self, run_id: &str) -> Option<Arc<RunControl>> {
        let inner = self.inner.lock().ok()?;
        inner
            .queues
            .values()
            .flat_map(|q| q.iter())
            .find(|c| c.run_id == run_id)
            .cloned()
    }

    /// The in-flight runs of a thread (running first).
    pub fn in_flight(&self, thread_id: &str) -> Vec<Arc<RunControl>> {
        self.inner
            .lock()
            .ok()
            .and_then(|i| i.queues.get(thread_id).map(|q| q.iter().cloned().collect()))
            .unwrap_or_default()
    }

    /// The bus of a run still in memory.
    pub fn bus(&self, run_id: &str) -> Option<Arc<RunBus>> {
        self.inner.lock().ok()?.buses.get(run_id).cloned()
    }

    /// Creates a run: applies the multitask strategy, records the run, marks the thread
    /// busy and starts (or queues) it. The thread must exist.
    pub async fn create(&self, spec: RunSpec) -> ApiResult<(RunRecord, Arc<RunBus>)> {
        let control = Arc::new(RunControl {
            run_id: spec.run_id.clone(),
            thread_id: spec.thread_id.clone(),
            cancel: CancellationToken::new(),
            action: Mutex::new(CancelAction::Interrupt),
            start: Notify::new(),
        });
        let (persist_tx, persist_rx) = if spec.resumable {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let bus = Arc::new(RunBus::new(persist_tx));
        {
            let mut inner = self
                .inner
                .lock()
                .map_err(|_| ApiError::internal(&"run registry poisoned"))?;
            let queue = inner.queues.entry(spec.thread_id.clone()).or_default();
            if let Some(current) = queue.front() {
                match spec.multitask {
                    Multitask::Reject => {
                        return Err(ApiError::new(
                            StatusCode::CONFLICT,
                            format!(
                                "Thread {} is busy with run {}: wait for it, cancel it, or send multitask_strategy interrupt, rollback or enqueue",
                                spec.thread_id, current.run_id
                            ),
                        ));
                    }
                    Multitask::Interrupt => {
                        queue.iter().for_each(|c| c.cancel(CancelAction::Interrupt))
                    }
                    Multitask::Rollback => {
                        queue.iter().for_each(|c| c.cancel(CancelAction::Rollback))
                    }
                    Multitask::Enqueue => {}
                }
            }
            queue.push_back(control.clone());
            if queue.len() == 1 {
                control.start.notify_one();
            }
            inner.buses.insert(spec.run_id.clone(), bus.clone());
        }

        let now = chrono::Utc::now();
        let mut metadata = json!({});
        merge_metadata(&mut metadata, &spec.metadata);
        let record = RunRecord {
            run_id: spec.run_id.clone(),
            thread_id: spec.thread_id.clone(),
            assistant_id: spec.assistant.id.to_string(),
            status: "pending".into(),
            multitask_strategy: spec.multitask.as_str().into(),
            metadata,
            kwargs: spec.kwargs.clone(),
            error: None,
            created_at: now,
            updated_at: now,
        };
        let recorded = async {
            self.repo.create_run(&record).await?;
            self.repo
                .merge_thread_metadata(
                    &spec.thread_id,
                    &json!({"graph_id": spec.assistant.graph_id,
                        "assistant_id": spec.assistant.id.to_string()}),
                )
                .await?;
            self.repo
                .set_thread_status(&spec.thread_id, "busy", None, false)
                .await
        }
        .await;
        if let Err(e) = recorded {
            self.release(&control);
            self.forget_bus(&spec.run_id);
            return Err(ApiError::from(e));
        }
        let this = self.clone();
        let persist = persist_rx.map(|rx| {
            let repo = self.repo.clone();
            let run_id = spec.run_id.clone();
            tokio::spawn(persist_events(repo, run_id, rx))
        });
        tokio::spawn(this.drive(control, bus.clone(), spec, persist));
        Ok((record, bus))
    }

    /// Removes a finished (or refused) run from its thread's queue and starts the next.
    fn release(&self, control: &Arc<RunControl>) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return false;
        };
        let mut more = false;
        if let Some(q) = inner.queues.get_mut(&control.thread_id) {
            q.retain(|c| !Arc::ptr_eq(c, control));
            if let Some(next) = q.front() {
                next.start.notify_one();
                more = true;
            }
            if q.is_empty() {
                inner.queues.remove(&control.thread_id);
            }
        }
        more
    }

    fn forget_bus(&self, run_id: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.buses.remove(run_id);
        }
    }

    async fn drive(
        self,
        control: Arc<RunControl>,
        bus: Arc<RunBus>,
        spec: RunSpec,
        persist: Option<tokio::task::JoinHandle<()>>,
    ) {
        let info = RunInfo {
            run_id: spec.run_id.clone(),
            thread_id: spec.thread_id.clone(),
            assistant_id: spec.assistant.id.to_string(),
            graph_id: spec.assistant.graph_id.clone(),
        };
        let mut encoder = Encoder::new(spec.modes.clone(), spec.subgraphs, info);
        bus.push(encoder.metadata());

        let mut started = tokio::select! {
            _ = control.start.notified() => true,
            _ = control.cancel.cancelled() => false,
        };
        if started && let Some(delay) = spec.after {
            started = tokio::select! {
                _ = tokio::time::sleep(delay) => true,
                _ = control.cancel.cancelled() => false,
            };
        }
        let mut status = "interrupted";
        let mut run_error: Option<String> = None;
        if started {
            if let Err(e) = self
                .repo
                .set_run_status(&spec.run_id, "running", None)
                .await
            {
                tracing::warn!(run_id = %spec.run_id, error = %e, "cannot mark the run running");
            }
            if let Some(update) = spec.pre_update.clone() {
                match self
                    .engine
                    .runtime()
                    .update_state(&spec.thread_id, update)
                    .await
                {
                    Ok(_) => {}
                    Err(e) => {
                        let err = error_out(&e.info());
                        bus.push(Out {
                            event: "error".into(),
                            data: err.clone(),
                        });
                        encoder.error = Some(err);
                    }
                }
            }
        }
        if started && encoder.error.is_some() {
            status = "error";
        } else if started
            && spec
                .pre_update
                .as_ref()
                .is_some_and(|u| u.resolve_interrupts)
        {
            status = "success";
            let head = self
                .engine
                .runtime()
                .checkpointer()
                .get(&spec.thread_id, None)
                .await
                .ok()
                .flatten();
            let values = values_of(head.as_ref().map(|s| s.messages()).unwrap_or(&[]));
            if spec.modes.contains(&Mode::Values) {
                bus.push(Out {
                    event: "values".into(),
                    data: values.clone(),
                });
            }
            encoder.last_values = Some(values);
        } else if started {
            let mut request = RunRequest::new(spec.thread_id.clone(), spec.input.clone());
            request.run_id = Some(spec.run_id.clone());
            request.checkpoint_id = spec.checkpoint_id.clone();
            request.metadata = json!({
                "source": "hub",
                "run_id": spec.run_id,
                "assistant_id": spec.assistant.id,
                "graph_id": spec.assistant.graph_id,
            });
            match self
                .engine
                .runtime()
                .start(spec.assistant.graph.clone(), request)
                .await
            {
                Err(e) => {
                    let info = e.info();
                    let err = error_out(&info);
                    bus.push(Out {
                        event: "error".into(),
                        data: err.clone(),
                    });
                    encoder.error = Some(err);
                    status = "error";
                    run_error = Some(info.message);
                }
                Ok(mut handle) => {
                    let token = handle.cancel_token();
                    let mut forwarded = false;
                    let mut final_status = RunStatus::Error;
                    loop {
                        tokio::select! {
                            ev = handle.next_event() => {
                                let Some(ev) = ev else { break };
                                if let EventKind::Finished { status, .. } = &ev.kind {
                                    final_status = *status;
                                }
                                for out in encoder.encode(&ev) {
                                    bus.push(out);
                                }
                            }
                            _ = control.cancel.cancelled(), if !forwarded => {
                                forwarded = true;
                                token.cancel();
                            }
                        }
                    }
                    let outcome = handle.finish().await;
                    status = match final_status {
                        RunStatus::Success | RunStatus::Interrupted => "success",
                        RunStatus::Cancelled => "interrupted",
                        RunStatus::LimitReached | RunStatus::Error => "error",
                    };
                    run_error = outcome.error.map(|e| e.message);
                }
            }
        }

        // Keep the events of a resumable run before telling anyone it is over.
        drop(bus.persist.lock().ok().and_then(|mut p| p.take()));
        if let Some(p) = persist {
            let _ = p.await;
        }
        let rolled_back = status == "interrupted" && control.action() == CancelAction::Rollback;
        if rolled_back {
            if let Err(e) = self
                .engine
                .runtime()
                .checkpointer()
                .delete_run(&spec.thread_id, &spec.run_id)
                .await
            {
                tracing::warn!(run_id = %spec.run_id, error = %e, "rollback could not delete checkpoints");
            }
            if let Err(e) = self.repo.delete_run(&spec.run_id).await {
                tracing::warn!(run_id = %spec.run_id, error = %e, "rollback could not delete the run");
            }
        } else if let Err(e) = self
            .repo
            .set_run_status(&spec.run_id, status, run_error)
            .await
        {
            tracing::warn!(run_id = %spec.run_id, error = %e, "cannot record the run's status");
        }
        let more = self.release(&control);
        let thread_status = if more {
            ("busy", None)
        } else if status == "error" {
            ("error", encoder.error.clone())
        } else {
            match self
                .engine
                .runtime()
                .checkpointer()
                .get(&spec.thread_id, None)
                .await
            {
                Ok(Some(s)) if !interrupts_of(&s).is_empty() => ("interrupted", None),
                _ => ("idle", None),
            }
        };
        if spec.delete_thread_after {
            let _ = self
                .engine
                .runtime()
                .checkpointer()
                .delete_thread(&spec.thread_id)
                .await;
            let _ = self.repo.delete_thread(&spec.thread_id).await;
        } else if let Err(e) = self
            .repo
            .set_thread_status(&spec.thread_id, thread_status.0, thread_status.1, started)
            .await
        {
            tracing::warn!(thread_id = %spec.thread_id, error = %e, "cannot record the thread's status");
        }
        bus.finish(Outcome {
            values: encoder.last_values.take(),
            error: encoder.error.take(),
        });
        let this = self.clone();
        let run_id = spec.run_id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(KEEP_FINISHED).await;
            this.forget_bus(&run_id);
        });
    }

    /// The SSE body following `bus` from after event `after` (from the start with None),
    /// with heartbeats; `on_drop` runs if the client leaves before the run is over.
    pub fn follow(
        &self,
        bus: Arc<RunBus>,
        after: Option<i64>,
        cancel_on_disconnect: Option<Arc<RunControl>>,
    ) -> impl futures::Stream<Item = Result<Bytes, actix_web::Error>> + 'static {
        let start = after.map_or(0, |a| usize::try_from(a + 1).unwrap_or(0));
        let rx = bus.state.subscribe();
        let guard = DisconnectGuard {
            control: cancel_on_disconnect,
        };
        futures::stream::unfold(
            (bus, rx, start, guard),
            |(bus, mut rx, next, mut guard)| async move {
                loop {
                    let (len, done) = *rx.borrow_and_update();
                    if next < len {
                        let (frames, len) = bus.frames_from(next);
                        let text: String = frames
                            .iter()
                            .map(|f| sse_frame(&f.event, &f.data, Some(f.seq)))
                            .collect();
                        return Some((Ok(Bytes::from(text)), (bus, rx, len, guard)));
                    }
                    if done {
                        guard.disarm();
                        return None;
                    }
                    match tokio::time::timeout(HEARTBEAT, rx.changed()).await {
                        Ok(Ok(())) => continue,
                        Ok(Err(_)) => {
                            guard.disarm();
                            return None;
                        }
                        Err(_) => {
                            return Some((
                                Ok(Bytes::from_static(b": heartbeat\n\n")),
                                (bus, rx, next, guard),
                            ));
                        }
                    }
                }
            },
        )
    }

    /// Replays the stored events of a finished resumable run after `after`.
    pub async fn replay_stored(&self, run_id: &str, after: Option<i64>) -> ApiResult<Bytes> {
        let events = self
            .repo
            .events_after(run_id, after)
            .await
            .map_err(ApiError::from)?;
        Ok(Bytes::from(
            events
                .iter()
                .map(|e| sse_frame(&e.event, &e.data, Some(e.seq)))
                .collect::<String>(),
        ))
    }
}

/// Cancels the run when the client of its stream goes away early (`on_disconnect:
/// cancel`); disarmed once the stream has ended normally.
struct DisconnectGuard {
    control: Option<Arc<RunControl>>,
}

impl DisconnectGuard {
    fn disarm(&mut self) {
        self.control = None;
    }
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        if let Some(c) = self.control.take() {
            tracing::debug!(run_id = %c.run_id, "client left: cancelling the run");
            c.cancel(CancelAction::Interrupt);
        }
    }
}

async fn persist_events(
    repo: HubRepo,
    run_id: String,
    mut rx: mpsc::UnboundedReceiver<EventRecord>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        if let Err(e) = repo.append_events(&run_id, &batch).await {
            tracing::warn!(run_id = %run_id, error = %e, "cannot store stream events");
        }
    }
}
