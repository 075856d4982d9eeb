//! An in-process client over the whole app on a throw-away database, and a macro that
//! runs one scenario on SQLite and on PostgreSQL.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::test::{self, TestRequest};
use fustat_api::{AppState, HttpConfig, build_app};
use fustat_persistence::{DatabaseConnection, DbOptions, Repos, connect, migrate_up};
use fustat_testkit::db::TestDatabase;
use serde_json::Value;

/// Runs each named `async fn(TestDatabase)` once on SQLite and once on PostgreSQL
/// (skipped with a note when `FUSTAT_TEST_POSTGRES_URL` is unset).
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[actix_web::test]
            async fn sqlite() {
                super::$scenario(fustat_testkit::db::sqlite()).await;
            }

            #[actix_web::test]
            async fn postgres() {
                let db = fustat_testkit::db::postgres()
                    .await
                    .expect("the PostgreSQL named by FUSTAT_TEST_POSTGRES_URL");
                if let Some(db) = db {
                    super::$scenario(db).await;
                }
            }
        }
    )*};
}

/// A response: status, headers, JSON body (`Null` when empty), raw body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Reply {
    pub fn detail(&self) -> &str {
        self.json["detail"].as_str().unwrap_or_default()
    }
}

pub struct Client<S> {
    pub app: S,
    pub repos: Repos,
    pub conn: DatabaseConnection,
    url: String,
    _db: Option<TestDatabase>,
}

/// Connects, migrates and builds the app on `db`.
pub async fn client(
    db: TestDatabase,
) -> Client<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    client_with_tools(db, std::sync::Arc::new(fustat_api::engine::NoTools)).await
}

/// Like [`client`], with agents' MCP tools coming from `tools`.
pub async fn client_with_tools(
    db: TestDatabase,
    tools: std::sync::Arc<dyn fustat_api::engine::ToolFactory>,
) -> Client<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    let url = db.url().to_owned();
    let mut c = client_over_url(url, tools).await;
    c._db = Some(db);
    c
}

/// An app over an existing database (a second server over the same data, as after a
/// restart). The database is not dropped with it.
pub async fn client_over_url(
    url: String,
    tools: std::sync::Arc<dyn fustat_api::engine::ToolFactory>,
) -> Client<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    client_over_url_with(
        url,
        Some(tools),
        fustat_mcp_client::McpPool::new(Default::default()),
        |s| s,
    )
    .await
}

/// Like [`client`], with the app state adjusted by `configure` (authentication, limits).
#[allow(dead_code)]
pub async fn client_configured(
    db: TestDatabase,
    configure: impl FnOnce(AppState) -> AppState,
) -> Client<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    let url = db.url().to_owned();
    let mut c = client_over_url_with(
        url,
        Some(std::sync::Arc::new(fustat_api::engine::NoTools)),
        fustat_mcp_client::McpPool::new(Default::default()),
        configure,
    )
    .await;
    c._db = Some(db);
    c
}

/// Like [`client`], with agents' tools from the MCP servers of `pool`.
#[allow(dead_code)]
pub async fn client_with_mcp(
    db: TestDatabase,
    pool: fustat_mcp_client::McpPool,
) -> Client<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    let url = db.url().to_owned();
    let mut c = client_over_url_with(url, None, pool, |s| s).await;
    c._db = Some(db);
    c
}

/// An app over an existing database with tools from `tools`, else from the MCP
/// servers of `pool`.
pub async fn client_over_url_with(
    url: String,
    tools: Option<std::sync::Arc<dyn fustat_api::engine::ToolFactory>>,
    pool: fustat_mcp_client::McpPool,
    configure: impl FnOnce(AppState) -> AppState,
) -> Client<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    let tools =
        tools.unwrap_or_else(|| std::sync::Arc::new(fustat_api::engine::McpTools(pool.clone())));
    let conn = connect(&url, &DbOptions::default()).await.unwrap();
    migrate_up(&conn, None).await.unwrap();
    let repos = Repos::new(conn.clone());
    let app = test::init_service(build_app(
        configure(AppState::new(
            repos.clone(),
            fustat_api::engine::Engine::over_database(
                conn.clone(),
                std::sync::Arc::new(fustat_api::engine::OpenAiModels::default()),
                tools,
                Default::default(),
            ),
            pool,
        )),
        HttpConfig::default(),
    ))
    .await;
    Client {
        app,
        repos,
        conn,
        url,
        _db: None,
    }
}

impl<S> Client<S> {
    /// The database URL (to open a second app over it, as after a restart).
    pub fn db_url(&self) -> &str {
        &self.url
    }
}

impl<S, B> Client<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    pub async fn send(&self, req: TestRequest) -> Reply {
        let res = test::call_service(&self.app, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply {
            status,
            headers,
            json,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(TestRequest::get().uri(path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(TestRequest::post().uri(path).set_json(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(TestRequest::put().uri(path).set_json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(TestRequest::delete().uri(path)).await
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut req = TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path)
            .set_payload(body.to_owned());
        if let Some(ct) = content_type {
            req = req.insert_header((header::CONTENT_TYPE, ct));
        }
        self.send(req).await
    }

    /// POSTs and expects 200 (as the earlier service answered); returns the body.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let r = self.post(path, body).await;
        assert_eq!(r.status, StatusCode::OK, "POST {path}: {}", r.text);
        r.json
    }

    /// An API key (id returned) whose provider is the fake LLM `llm`.
    #[allow(dead_code)]
    pub async fn fake_key(&self, llm: &fustat_testkit::fake_llm::FakeLlm, name: &str) -> Value {
        self.create(
            "/api/v1/api-keys",
            &serde_json::json!({
                "name": name, "provider_name": "custom", "model_name": "fake-model",
                "base_url": llm.base_url(), "secret_key": format!("sk-{name}-secret-0001"),
            }),
        )
        .await["id"]
            .clone()
    }

    pub async fn api_key(&self, name: &str) -> Value {
        self.create(
            "/api/v1/api-keys",
            &serde_json::json!({
                "name": name,
                "provider_name": "OpenAI",
                "model_name": "gpt-4o-mini",
                "base_url": "https://api.openai.com/v1/",
                "secret_key": format!("sk-test-{name}-0123456789"),
            }),
        )
        .await
    }

    pub async fn mcp_server(&self, name: &str) -> Value {
        self.create(
            "/api/v1/mcp-servers",
            &serde_json::json!({
                "name": name,
                "description": format!("{name} tools"),
                "config_json": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]},
            }),
        )
        .await
    }

    pub async fn agent(&self, name: &str, api_key_id: &Value, servers: &[&Value]) -> Value {
        self.create("/api/v1/agents", &agent_body(name, api_key_id, servers))
            .await
    }
}

pub fn agent_body(name: &str, api_key_id: &Value, servers: &[&Value]) -> Value {
    serde_json::json!({
        "name": name,
        "description": format!("{name} agent"),
        "role": "researcher",
        "task": "find things",
        "instructions": "be brief",
        "api_key_id": api_key_id,
        "mcp_servers": servers.iter().map(|id| serde_json::json!({"mcp_server_id": id})).collect::<Vec<_>>(),
    })
}

pub fn orchestrator_body(name: &str, api_key_id: &Value, agents: &[&Value]) -> Value {
    serde_json::json!({
        "name": name,
        "description": format!("{name} goal"),
        "instructions": "coordinate",
        "api_key_id": api_key_id,
        "agents": agents.iter().map(|id| serde_json::json!({"agent_id": id})).collect::<Vec<_>>(),
    })
}

/// The four audit fields are present, `system` acted, and the timestamps parse.
pub fn assert_audit(v: &Value) {
    assert_eq!(v["created_by"], "system", "{v}");
    assert_eq!(v["modified_by"], "system", "{v}");
    for f in ["created_at", "modified_at"] {
        let s = v[f]
            .as_str()
            .unwrap_or_else(|| panic!("{f} missing in {v}"));
        chrono::DateTime::parse_from_rfc3339(s).unwrap();
    }
}
