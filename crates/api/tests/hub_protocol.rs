//! The Hub protocol's edges through the in-process app, on SQLite and PostgreSQL: ids and
//! bodies refused with a clear 4xx, thread creation conflicts, the stream's framing and
//! headers, the store's null for a missing item, and runs a crashed process left
//! `running` marked as failed at start.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use actix_web::http::StatusCode;
use common::client;
use fustat_persistence::hub::RunRecord;
use fustat_testkit::db::TestDatabase;
use fustat_testkit::fake_llm::{FakeLlm, Reply};
use serde_json::json;

on_both_backends!(refusals_and_framing, unfinished_runs_are_failed_at_start);

async fn refusals_and_framing(db: TestDatabase) {
    let llm = FakeLlm::start();
    let c = client(db).await;
    let key = c.fake_key(&llm, "fake").await;
    let agent = c.agent("Helper", &key, &[]).await;
    let aid = agent["id"].as_str().unwrap();

    let r = c
        .post(
            "/api/v1/chat/threads",
            &json!({"metadata": {"note": "a\u{0}b"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("body:"), "{}", r.detail());
    let missing = uuid::Uuid::new_v4();
    let r = c.get(&format!("/api/v1/chat/assistants/{missing}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.detail(), format!("Assistant {missing} not found"));
    let r = c
        .get(&format!("/api/v1/chat/assistants/{aid}/schemas"))
        .await;
    assert_eq!(r.json["graph_id"], "agent");

    let r = c.get("/api/v1/chat/threads/not-a-uuid").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().contains("Invalid thread ID"), "{}", r.detail());

    let tid = uuid::Uuid::new_v4().to_string();
    let r = c
        .post(
            &format!("/api/v1/chat/threads/{tid}/runs/wait"),
            &json!({"assistant_id": aid, "input": {"messages": [{"type": "human", "content": "hi"}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.detail(), "Thread or assistant not found.");

    let r = c
        .post(
            "/api/v1/chat/threads",
            &json!({"thread_id": tid, "metadata": {"a": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = c
        .post("/api/v1/chat/threads", &json!({"thread_id": tid}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = c
        .post(
            "/api/v1/chat/threads",
            &json!({"thread_id": tid, "if_exists": "do_nothing"}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json["metadata"]["a"]),
        (StatusCode::OK, &json!(1))
    );

    let run = |body: serde_json::Value| {
        let mut b = json!({"assistant_id": aid, "input": {"messages": [{"type": "human", "content": "hi"}]}});
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let path = format!("/api/v1/chat/threads/{tid}/runs/stream");
    let r = c
        .post(&path, &run(json!({"stream_mode": ["values", "bogus"]})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("stream_mode:"), "{}", r.detail());
    let r = c
        .post(&path, &run(json!({"multitask_strategy": "sometimes"})))
        .await;
    assert!(
        r.detail().starts_with("multitask_strategy:"),
        "{}",
        r.detail()
    );
    let r = c
        .post(
            &path,
            &run(json!({"input": {"messages": [{"type": "robot", "content": "x"}]}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.detail().starts_with("input.messages[0].type"),
        "{}",
        r.detail()
    );
    let r = c
        .post(&path, &run(json!({"assistant_id": "no-such-graph"})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.detail(),
        "assistant_id: Invalid assistant: 'no-such-graph'"
    );
    let r = c.post(&path, &run(json!({"input": null}))).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an empty thread has nothing to continue"
    );

    llm.push(Reply::text("hello back").chunks(3));
    let r = c
        .post(
            &path,
            &run(json!({"stream_mode": ["values", "messages-tuple"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let location = r.headers.get("content-location").unwrap().to_str().unwrap();
    assert!(
        location.starts_with(&format!("/threads/{tid}/runs/")),
        "{location}"
    );
    assert_eq!(
        r.headers.get("location").unwrap().to_str().unwrap(),
        format!("{location}/stream")
    );
    let frames: Vec<&str> = r.text.split("\n\n").filter(|f| !f.is_empty()).collect();
    assert!(
        frames[0].starts_with("event: metadata\ndata: {"),
        "{}",
        frames[0]
    );
    for f in &frames {
        let data = f.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        serde_json::from_str::<serde_json::Value>(data).unwrap();
        assert!(f.lines().any(|l| l.starts_with("id: ")));
    }
    assert!(r.text.contains("event: messages\n"));
    let run_id = location.rsplit('/').next().unwrap();
    let r = c
        .get(&format!("/api/v1/chat/threads/{tid}/runs/{run_id}"))
        .await;
    assert_eq!(r.json["status"], "success");
    let r = c
        .post(
            &format!("/api/v1/chat/threads/{tid}/runs/{run_id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a finished run cannot be cancelled"
    );

    let r = c.get("/api/v1/chat/store/items?namespace=a.b").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .get("/api/v1/chat/store/items?namespace=a.b&key=none")
        .await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "null"));
    let r = c
        .put(
            "/api/v1/chat/store/items",
            &json!({"namespace": ["a.b"], "key": "k", "value": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    let r = c.delete(&format!("/api/v1/chat/threads/{tid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = c.get(&format!("/api/v1/chat/threads/{tid}/state")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn unfinished_runs_are_failed_at_start(db: TestDatabase) {
    let c = client(db).await;
    let tid = uuid::Uuid::new_v4().to_string();
    c.repos.hub.create_thread(&tid, json!({})).await.unwrap();
    let now = chrono::Utc::now();
    let run_id = uuid::Uuid::now_v7().to_string();
    c.repos
        .hub
        .create_run(&RunRecord {
            run_id: run_id.clone(),
            thread_id: tid.clone(),
            assistant_id: uuid::Uuid::new_v4().to_string(),
            status: "running".into(),
            multitask_strategy: "reject".into(),
            metadata: json!({}),
            kwargs: json!({}),
            error: None,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    c.repos
        .hub
        .set_thread_status(&tid, "busy", None, false)
        .await
        .unwrap();

    // What `fustat serve` does before serving.
    let state = fustat_api::AppState::new(
        c.repos.clone(),
        fustat_api::engine::Engine::over_database(
            c.conn.clone(),
            std::sync::Arc::new(fustat_api::engine::OpenAiModels::default()),
            std::sync::Arc::new(fustat_api::engine::NoTools),
            Default::default(),
        ),
        fustat_mcp_client::McpPool::new(Default::default()),
    );
    assert_eq!(state.hub.recover().await.unwrap(), 1);
    let r = c
        .get(&format!("/api/v1/chat/threads/{tid}/runs/{run_id}"))
        .await;
    assert_eq!(r.json["status"], "error");
    let r = c.get(&format!("/api/v1/chat/threads/{tid}")).await;
    assert_eq!(r.json["status"], "error");
    assert_eq!(r.json["error"]["error"], "ServerRestarted");
}
