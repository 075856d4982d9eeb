//! Agent Hub's protocol driven by the official LangGraph Python client (`langgraph-sdk`)
//! against a live server: conversations with token streaming, history and forks,
//! threads found by assistant, a supervised MCP tool paused and resumed in both decision
//! formats, cancellation, every multitask strategy, resumable streams rejoined with
//! `Last-Event-ID`, the store, an orchestrator and stateless runs (see
//! `tests/hub/sdk_flows.py`). Then the server is replaced by a new one over the same
//! database, which still has the threads, their history and the stored stream events.
//!
//! The official JavaScript client (`@langchain/langgraph-sdk`, in the 0.1 version Agent
//! Hub pins and in the current 1.x) then holds conversations with an agent and an
//! orchestrator and approves a tool call (`tests/hub/sdk_flows.cjs`).
//!
//! The clients are installed by `scripts/install-hub-sdk.sh` into `target/hub-venv` and
//! `target/hub-js` (or `FUSTAT_HUB_PYTHON` / `FUSTAT_HUB_JS` name others). Without them
//! the flows are skipped with a note, unless `FUSTAT_REQUIRE_HUB_SDK=1` (CI) makes that a
//! failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use actix_web::HttpServer;
use common::{agent_body, orchestrator_body};
use fustat_api::engine::{Engine, McpTools, OpenAiModels};
use fustat_api::{AppState, HttpConfig, build_app};
use fustat_mcp_client::{CommandAllowlist, McpPolicy, McpPool};
use fustat_persistence::{DbOptions, Repos, connect, migrate_up};
use fustat_testkit::db::TestDatabase;
use fustat_testkit::fake_llm::{FakeLlm, Reply};
use fustat_testkit::mcp_fixture::fixture_mcp_path;
use serde_json::{Value, json};

on_both_backends!(official_python_client_holds_whole_conversations);

fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FUSTAT_HUB_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = root.join("target/hub-venv/bin/python");
    p.exists().then_some(p)
}

/// The directory holding the JavaScript clients (`target/hub-js`), if installed.
fn js_clients() -> Option<PathBuf> {
    let dir = std::env::var("FUSTAT_HUB_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/hub-js"));
    let ok = ["langgraph-sdk-0.1", "langgraph-sdk-1"].iter().all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .exists()
    });
    (ok && std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok())
    .then_some(dir)
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/hub/sdk_flows.py")
}

/// The fake provider's behaviour the flows rely on.
fn scripted_llm() -> FakeLlm {
    let llm = FakeLlm::start();
    llm.respond_with(|r| {
        if let Some(last) = r.tool_results_since_user().last() {
            let text = match &last["content"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return Reply::text(format!("tool said: {text}")).chunks(3);
        }
        let text = r.last_user_text();
        if let Some(rest) = text.strip_prefix("echo ")
            && r.tool_names().iter().any(|n| n == "echo")
        {
            return Reply::tool_call("echo", json!({"text": rest}));
        }
        if text.starts_with("slow") {
            return Reply::text(format!("You said: {text}"))
                .chunks(30)
                .chunk_delay(Duration::from_millis(80));
        }
        Reply::text(format!("You said: {text}")).chunks(4)
    });
    llm
}

/// Runs a client script against the server and checks it passed.
async fn run_client(mut cmd: tokio::process::Command, env: &[(&str, String)], passed: &str) {
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.kill_on_drop(true).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the client flows failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(passed), "{stdout}");
}

struct Server {
    url: String,
    handle: actix_web::dev::ServerHandle,
}

async fn serve(db_url: &str, pool: McpPool) -> Server {
    let conn = connect(db_url, &DbOptions::default()).await.unwrap();
    migrate_up(&conn, None).await.unwrap();
    let repos = Repos::new(conn.clone());
    let engine = Engine::over_database(
        conn,
        std::sync::Arc::new(OpenAiModels::default()),
        std::sync::Arc::new(McpTools(pool.clone())),
        Default::default(),
    );
    let state = AppState::new(repos, engine, pool);
    state.hub.recover().await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || build_app(state.clone(), HttpConfig::default()))
        .workers(2)
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Server {
        url: format!("http://127.0.0.1:{port}/api/v1/chat"),
        handle,
    }
}

async fn http(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn official_python_client_holds_whole_conversations(db: TestDatabase) {
    let Some(python) = python() else {
        assert!(
            std::env::var("FUSTAT_REQUIRE_HUB_SDK").as_deref() != Ok("1"),
            "langgraph-sdk is required: run scripts/install-hub-sdk.sh"
        );
        eprintln!("note: langgraph-sdk not installed (scripts/install-hub-sdk.sh); skipped");
        return;
    };
    let llm = scripted_llm();
    let pool = McpPool::new(McpPolicy {
        allowed_commands: CommandAllowlist::new([fixture_mcp_path()
            .to_string_lossy()
            .into_owned()]),
        start_timeout: Duration::from_secs(20),
        call_timeout: Duration::from_secs(20),
        ..McpPolicy::default()
    });
    let server = serve(db.url(), pool.clone()).await;
    let base = server.url.trim_end_matches("/chat").to_owned();
    let (_, key) = http(
        reqwest::Method::POST,
        &format!("{base}/api-keys"),
        Some(
            json!({"name": "fake", "provider_name": "custom", "model_name": "fake-model",
            "secret_key": "sk-fake-secret-0001", "base_url": llm.base_url()}),
        ),
    )
    .await;
    let (_, guarded_server) = http(
        reqwest::Method::POST,
        &format!("{base}/mcp-servers"),
        Some(json!({"name": "guarded", "mode": "supervised",
            "config_json": {"command": fixture_mcp_path().to_string_lossy(), "args": []}})),
    )
    .await;
    let (s, agent) = http(
        reqwest::Method::POST,
        &format!("{base}/agents"),
        Some(agent_body("Helper", &key["id"], &[])),
    )
    .await;
    assert_eq!(s, 200, "{agent}");
    let (_, guarded) = http(
        reqwest::Method::POST,
        &format!("{base}/agents"),
        Some(agent_body("Careful", &key["id"], &[&guarded_server["id"]])),
    )
    .await;
    let (s, orch) = http(
        reqwest::Method::POST,
        &format!("{base}/orchestrators"),
        Some(orchestrator_body("Team", &key["id"], &[&agent["id"]])),
    )
    .await;
    assert_eq!(s, 200, "{orch}");

    let ids = [
        ("FUSTAT_URL", server.url.clone()),
        ("AGENT_ID", agent["id"].as_str().unwrap().to_owned()),
        (
            "GUARDED_AGENT_ID",
            guarded["id"].as_str().unwrap().to_owned(),
        ),
        ("ORCHESTRATOR_ID", orch["id"].as_str().unwrap().to_owned()),
    ];
    let mut py = tokio::process::Command::new(&python);
    py.arg(script());
    run_client(py, &ids, "all flows passed").await;

    // The JavaScript client, in the version Hub pins and the current one.
    match js_clients() {
        Some(dir) => {
            for pkg in ["langgraph-sdk-0.1", "langgraph-sdk-1"] {
                let mut node = tokio::process::Command::new("node");
                node.arg(script().with_file_name("sdk_flows.cjs"))
                    .arg(pkg)
                    .env("HUB_JS", &dir);
                run_client(node, &ids, &format!("all {pkg} flows passed")).await;
            }
        }
        None => {
            assert!(
                std::env::var("FUSTAT_REQUIRE_HUB_SDK").as_deref() != Ok("1"),
                "@langchain/langgraph-sdk is required: run scripts/install-hub-sdk.sh"
            );
            eprintln!(
                "note: @langchain/langgraph-sdk not installed; the JavaScript flows were skipped"
            );
        }
    }

    // A new server over the same database: threads, history and stream events survive.
    server.handle.stop(true).await;
    let again = serve(db.url(), pool.clone()).await;
    let (s, threads) = http(
        reqwest::Method::POST,
        &format!("{}/threads/search", again.url),
        Some(json!({"metadata": {"assistant_id": agent["id"]}, "limit": 100})),
    )
    .await;
    assert_eq!(s, 200);
    let threads = threads.as_array().unwrap();
    assert!(threads.len() >= 3, "{threads:?}");
    let with_history = threads
        .iter()
        .find(|t| t["metadata"]["user"] == "u1")
        .unwrap();
    let tid = with_history["thread_id"].as_str().unwrap();
    let (s, history) = http(
        reqwest::Method::POST,
        &format!("{}/threads/{tid}/history", again.url),
        Some(json!({"limit": 100})),
    )
    .await;
    assert_eq!(s, 200);
    assert!(history.as_array().unwrap().len() >= 4);
    assert!(threads.iter().all(|t| t["status"] != "busy"));
    // The resumable run's events were stored: a client rejoining after the restart gets
    // all of them.
    let mut replayed = None;
    for t in threads {
        let tid = t["thread_id"].as_str().unwrap();
        let (_, runs) = http(
            reqwest::Method::GET,
            &format!("{}/threads/{tid}/runs?limit=100", again.url),
            None,
        )
        .await;
        for r in runs.as_array().unwrap() {
            if r["kwargs"]["stream_resumable"] == true {
                let res = reqwest::Client::new()
                    .get(format!(
                        "{}/threads/{tid}/runs/{}/stream",
                        again.url,
                        r["run_id"].as_str().unwrap()
                    ))
                    .header("last-event-id", "-1")
                    .send()
                    .await
                    .unwrap();
                replayed = Some(res.text().await.unwrap());
            }
        }
    }
    let replayed = replayed.expect("the resumable run is listed");
    assert!(replayed.starts_with("event: metadata\n"), "{replayed}");
    assert!(replayed.contains("You said: slow resumable"));
    again.handle.stop(true).await;
    pool.shutdown().await;
}
