//! The HTTP server under test: the api crate's app on actix-web, set up as `fustat serve`
//! sets it up (migrations, encrypted secrets, the MCP pool, one worker per core), run as
//! a child process of the harness so its memory and CPU can be read from `/proc`.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use anyhow::{Context, Result, anyhow};
use fustat_api::engine::{Engine, McpTools, OpenAiModels};
use fustat_api::{AppState, HttpConfig, build_app};
use fustat_mcp_client::McpPool;
use fustat_persistence::secrets::SecretCipher;
use fustat_persistence::{DbOptions, Repos, connect, migrate_up};

use crate::proc::{Proc, wait_http};

/// The child process: serves `database_url` on `port` until its standard input closes.
pub fn serve_child(database_url: String, port: u16) -> Result<()> {
    let cipher = SecretCipher::from_base64(&SecretCipher::generate_encoded()?)?;
    fustat_persistence::secrets::install(cipher)?;
    actix_web::rt::System::new().block_on(async move {
        let db = connect(&database_url, &DbOptions::default()).await?;
        migrate_up(&db, None).await?;
        let repos = Repos::new(db.clone());
        let mcp = McpPool::new(Default::default());
        let engine = Engine::over_database(
            db.clone(),
            Arc::new(OpenAiModels::default()),
            Arc::new(McpTools(mcp.clone())),
            Default::default(),
        );
        let state = AppState::new(repos, engine, mcp.clone());
        let http = HttpConfig::default();
        let server = HttpServer::new(move || build_app(state.clone(), http.clone()))
            .bind(("127.0.0.1", port))
            .with_context(|| format!("binding port {port}"))?
            .run();
        let handle = server.handle();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            futures::executor::block_on(handle.stop(true));
        });
        println!("ready http://127.0.0.1:{port}");
        let result = server.await;
        mcp.shutdown().await;
        result.map_err(|e| anyhow!("server: {e}"))
    })
}

/// A running server child.
pub struct Server {
    /// The process.
    pub proc: Proc,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

/// Starts the server over `database_url`.
pub async fn start(exe: &Path, database_url: &str, log: &Path) -> Result<Server> {
    let port = crate::proc::free_port()?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args([
        "serve",
        "--database-url",
        database_url,
        "--port",
        &port.to_string(),
    ])
    .env("RUST_LOG", "warn");
    let mut proc = Proc::spawn("fustat server", cmd, log)?;
    let base = proc.ready_line(Duration::from_secs(60)).await?;
    wait_http(&format!("{base}/"), Duration::from_secs(30)).await?;
    Ok(Server { proc, base })
}
