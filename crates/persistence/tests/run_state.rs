//! The database checkpointer and store on SQLite and PostgreSQL: the same behaviour as
//! the in-memory ones, state that survives a new connection, and writes that grow with
//! new content only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use fustat_persistence::{DbCheckpointer, DbOptions, DbStore, connect, migrate_up};
use fustat_runtime::agent::Agent;
use fustat_runtime::checkpoint::{
    ChannelOp, ChannelWrite, CheckpointDelta, CheckpointError, CheckpointMeta, CheckpointSource,
    Checkpointer, HistoryQuery, MAIN_CHANNEL, PendingWrite,
};
use fustat_runtime::message::{Message, Role};
use fustat_runtime::model::{ChatModel, ChatRequest, ModelChunk, ModelError, ModelStream};
use fustat_runtime::react::AgentGraph;
use fustat_runtime::run::{RunRequest, Runtime};
use fustat_runtime::store::{NamespaceQuery, Store, StoreSearch};
use fustat_testkit::db::{self, TestDatabase};
use serde_json::{Map, json};

async fn conn(db: &TestDatabase) -> fustat_persistence::DatabaseConnection {
    let c = connect(db.url(), &DbOptions::default()).await.unwrap();
    migrate_up(&c, None).await.unwrap();
    c
}

fn meta(thread: &str, id: &str, parent: Option<&str>, run: &str) -> CheckpointMeta {
    CheckpointMeta {
        thread_id: thread.into(),
        checkpoint_id: id.into(),
        parent_id: parent.map(Into::into),
        run_id: Some(run.into()),
        step: 0,
        source: CheckpointSource::Loop,
        node: Some("n".into()),
        created_at: Utc::now(),
        metadata: json!({"k": "v"}),
    }
}

fn say(text: &str) -> CheckpointDelta {
    let mut values = Map::new();
    values.insert("active_agent".into(), json!("a"));
    CheckpointDelta {
        writes: vec![ChannelWrite::append(MAIN_CHANNEL, Message::user(text))],
        values,
    }
}

fn texts(messages: &[Message]) -> Vec<String> {
    messages.iter().map(Message::text).collect()
}

async fn checkpointer_behaves(cp: &dyn Checkpointer) {
    assert!(cp.get("t", None).await.unwrap().is_none());
    cp.put(meta("t", "01", None, "r1"), say("one"))
        .await
        .unwrap();
    cp.put(meta("t", "02", Some("01"), "r1"), say("two"))
        .await
        .unwrap();
    // A fork from 01, written later.
    cp.put(meta("t", "03", Some("01"), "r2"), say("two-bis"))
        .await
        .unwrap();
    let err = cp
        .put(meta("t", "04", Some("zz"), "r2"), say("x"))
        .await
        .unwrap_err();
    assert_eq!(err, CheckpointError::NotFound("zz".into()));

    let head = cp.get("t", None).await.unwrap().unwrap();
    assert_eq!(texts(head.messages()), ["one", "two-bis"]);
    assert_eq!(head.values["active_agent"], "a");
    let m = head.checkpoint.unwrap();
    assert_eq!(m.checkpoint_id, "03");
    assert_eq!(m.parent_id.as_deref(), Some("01"));
    assert_eq!(m.metadata["k"], "v");
    let old = cp.get("t", Some("02")).await.unwrap().unwrap();
    assert_eq!(texts(old.messages()), ["one", "two"]);
    assert!(cp.get("t", Some("99")).await.unwrap().is_none());

    let hist = cp
        .history(
            "t",
            HistoryQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<String> = hist
        .iter()
        .map(|s| s.checkpoint.clone().unwrap().checkpoint_id)
        .collect();
    assert_eq!(ids, ["03", "01"]);
    let hist = cp
        .history(
            "t",
            HistoryQuery {
                limit: 10,
                from: Some("02".into()),
                before: Some("02".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(hist.len(), 1);

    // Removes and clears replay in order.
    let first_id = head_id_of(cp, "t").await;
    let mut d = say("three");
    d.writes.push(ChannelWrite {
        channel: "scratch".into(),
        op: ChannelOp::Append {
            message: Message::user("s"),
        },
    });
    d.writes.push(ChannelWrite {
        channel: "scratch".into(),
        op: ChannelOp::Clear,
    });
    cp.put(meta("t", "05", Some(&first_id), "r2"), d)
        .await
        .unwrap();
    let s = cp.get("t", None).await.unwrap().unwrap();
    assert_eq!(texts(s.messages()), ["one", "two-bis", "three"]);
    assert!(s.channel("scratch").is_empty());

    // Pending writes: the first write of a task wins.
    let call = fustat_runtime::message::ToolCall {
        id: "c1".into(),
        name: "t".into(),
        arguments: json!({}),
    };
    for text in ["first", "second"] {
        cp.put_pending_write(
            "t",
            "05",
            PendingWrite {
                task_id: "c1".into(),
                channel: MAIN_CHANNEL.into(),
                message: Message::tool_result(&call, text, false),
            },
        )
        .await
        .unwrap();
    }
    let s = cp.get("t", None).await.unwrap().unwrap();
    assert_eq!(s.pending_writes.len(), 1);
    assert_eq!(s.pending_writes[0].message.text(), "first");
    assert!(
        cp.put_pending_write(
            "t",
            "nope",
            PendingWrite {
                task_id: "c2".into(),
                channel: MAIN_CHANNEL.into(),
                message: Message::user("x")
            }
        )
        .await
        .is_err()
    );

    cp.copy_thread("t", "u").await.unwrap();
    let copy = cp.get("u", None).await.unwrap().unwrap();
    assert_eq!(texts(copy.messages()), ["one", "two-bis", "three"]);
    assert_eq!(copy.checkpoint.unwrap().thread_id, "u");

    // Rolling back run r2 leaves run r1's branch.
    cp.delete_run("t", "r2").await.unwrap();
    let s = cp.get("t", None).await.unwrap().unwrap();
    assert_eq!(texts(s.messages()), ["one", "two"]);

    cp.delete_thread("t").await.unwrap();
    assert!(cp.get("t", None).await.unwrap().is_none());
    assert!(cp.get("u", None).await.unwrap().is_some());
}

async fn head_id_of(cp: &dyn Checkpointer, thread: &str) -> String {
    cp.get(thread, None)
        .await
        .unwrap()
        .unwrap()
        .checkpoint
        .unwrap()
        .checkpoint_id
}

async fn store_behaves(store: &dyn Store) {
    let ns = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    store
        .put(&ns(&["users", "ada"]), "prefs", json!({"color": "blue"}))
        .await
        .unwrap();
    store
        .put(&ns(&["users", "ada_b"]), "prefs", json!({"color": "red"}))
        .await
        .unwrap();
    store
        .put(&ns(&["users%"]), "x", json!({"color": "green"}))
        .await
        .unwrap();
    let first = store
        .get(&ns(&["users", "ada"]), "prefs")
        .await
        .unwrap()
        .unwrap();
    store
        .put(&ns(&["users", "ada"]), "prefs", json!({"color": "teal"}))
        .await
        .unwrap();
    let again = store
        .get(&ns(&["users", "ada"]), "prefs")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.value["color"], "teal");
    assert_eq!(
        again.created_at.timestamp_micros(),
        first.created_at.timestamp_micros()
    );
    assert!(store.get(&ns(&["users"]), "prefs").await.unwrap().is_none());
    // A prefix matches whole labels only, and LIKE wildcards in labels are literal.
    let found = store
        .search(StoreSearch {
            namespace_prefix: ns(&["users"]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    let found = store
        .search(StoreSearch {
            namespace_prefix: ns(&["users", "ada"]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let found = store
        .search(StoreSearch {
            query: Some("green".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found[0].namespace, ns(&["users%"]));
    let spaces = store
        .list_namespaces(NamespaceQuery {
            max_depth: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(spaces, vec![ns(&["users"]), ns(&["users%"])]);
    store.delete(&ns(&["users", "ada"]), "prefs").await.unwrap();
    assert!(
        store
            .get(&ns(&["users", "ada"]), "prefs")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.put(&ns(&["a.b"]), "k", json!({})).await.is_err());
}

/// Answers every message with "echo: <text>" and counts what it was sent.
struct Echo;

#[async_trait]
impl ChatModel for Echo {
    fn model_name(&self) -> &str {
        "echo"
    }

    async fn stream(&self, request: ChatRequest) -> Result<ModelStream, ModelError> {
        let last = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(Message::text)
            .unwrap_or_default();
        let n = request
            .messages
            .iter()
            .filter(|m| m.role == Role::User)
            .count();
        Ok(Box::pin(futures::stream::iter(vec![Ok(ModelChunk::Text(
            format!("echo {n}: {last}"),
        ))])))
    }
}

async fn conversation_survives_a_restart(db: &TestDatabase) {
    let graph = Arc::new(AgentGraph::new(
        Agent::builder("echo", Arc::new(Echo)).build(),
    ));
    {
        let rt = Runtime::new(Arc::new(DbCheckpointer::new(conn(db).await)));
        let out = rt
            .run(graph.clone(), RunRequest::message("conv", "hello"))
            .await
            .unwrap();
        assert_eq!(out.answer.unwrap().text(), "echo 1: hello");
    }
    // A new connection pool, as after a restart.
    let rt = Runtime::new(Arc::new(DbCheckpointer::new(conn(db).await)));
    let out = rt
        .run(graph, RunRequest::message("conv", "again"))
        .await
        .unwrap();
    assert_eq!(out.answer.unwrap().text(), "echo 2: again");
}

async fn writes_grow_with_new_content_only(db: &TestDatabase) {
    use sea_orm::{ConnectionTrait, Statement};
    let c = conn(db).await;
    let graph = Arc::new(AgentGraph::new(
        Agent::builder("echo", Arc::new(Echo)).build(),
    ));
    let rt = Runtime::new(Arc::new(DbCheckpointer::new(c.clone())));
    let count = || async {
        let row = c
            .query_one_raw(Statement::from_string(
                c.get_database_backend(),
                "SELECT COUNT(*) AS n FROM checkpoint_write WHERE thread_id = 'grow'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    let mut per_turn = Vec::new();
    for i in 0..20 {
        let before = count().await;
        rt.run(
            graph.clone(),
            RunRequest::message("grow", format!("turn {i}")),
        )
        .await
        .unwrap();
        per_turn.push(count().await - before);
    }
    // Each turn writes its user message and the answer: two rows, however long the
    // conversation already is.
    assert!(per_turn.iter().all(|&n| n == 2), "{per_turn:?}");
}

async fn all(db: TestDatabase) {
    let c = conn(&db).await;
    checkpointer_behaves(&DbCheckpointer::new(c.clone())).await;
    store_behaves(&DbStore::new(c)).await;
    conversation_survives_a_restart(&db).await;
    writes_grow_with_new_content_only(&db).await;
}

#[tokio::test]
async fn in_memory_reference() {
    checkpointer_behaves(&fustat_runtime::checkpoint::MemoryCheckpointer::new()).await;
    store_behaves(&fustat_runtime::store::MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite() {
    all(db::sqlite()).await;
}

#[tokio::test]
async fn postgres() {
    match db::postgres().await.unwrap() {
        Some(db) => all(db).await,
        None => eprintln!("FUSTAT_TEST_POSTGRES_URL is unset: the PostgreSQL half was skipped"),
    }
}
