//! The configuration API over HTTP, each scenario on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test::TestRequest;
use chrono::NaiveDate;
use common::{agent_body, assert_audit, client, orchestrator_body};
use fustat_persistence::NewVersion;
use fustat_testkit::db::TestDatabase;
use serde_json::{Value, json};

on_both_backends!(
    crud_flow,
    api_key_secrets_are_masked,
    trailing_slashes_without_redirects,
    cors_preflight,
    bad_input_is_a_4xx_naming_the_field,
    failed_put_changes_nothing,
    ordering_and_versions,
    orchestrator_pattern,
    concurrent_duplicate_names_conflict,
    docs_and_openapi,
);

const UNKNOWN: &str = "0190f000-0000-7000-8000-000000000000";

async fn crud_flow(db: TestDatabase) {
    let c = client(db).await;

    assert_eq!(c.get("/").await.json, json!({"status": "healthy"}));

    // API key
    let key = c.api_key("main").await;
    assert_audit(&key);
    assert_eq!(key["name"], "main");
    assert_eq!(key["provider_name"], "OpenAI");
    assert_eq!(key["model_name"], "gpt-4o-mini");
    assert_eq!(key["base_url"], "https://api.openai.com/v1/");
    assert_eq!(key["secret_key"], "sk-…6789");
    let key_id = key["id"].clone();
    assert_eq!(
        uuid::Uuid::parse_str(key_id.as_str().unwrap())
            .unwrap()
            .get_version_num(),
        7
    );
    assert_eq!(
        c.get(&format!("/api/v1/api-keys/{}", key_id.as_str().unwrap()))
            .await
            .json,
        key
    );

    // MCP servers, with defaults and Studio's transport spelling
    let everything = c.mcp_server("everything").await;
    assert_audit(&everything);
    assert_eq!(everything["transport"], "stdio");
    assert_eq!(everything["mode"], "autonomous");
    assert_eq!(everything["description"], "everything tools");
    let http = c
        .create(
            "/api/v1/mcp-servers",
            &json!({"name": "remote", "transport": "streamable_http", "mode": "supervised",
                    "config_json": {"url": "http://127.0.0.1:9/mcp", "headers": {"x": "y"}}}),
        )
        .await;
    assert_eq!(http["transport"], "streamable-http");
    assert_eq!(http["mode"], "supervised");
    assert_eq!(http["description"], Value::Null);

    // Agent with MCP servers, in the given order
    let agent = c
        .agent("Researcher", &key_id, &[&http["id"], &everything["id"]])
        .await;
    assert_audit(&agent);
    assert_eq!(agent["publish_as_app"], false);
    assert_eq!(agent["app_type"], "Productivity");
    assert_eq!(agent["role"], "researcher");
    assert_eq!(agent["api_key_id"], key_id);
    assert_eq!(agent["api_key"], key);
    let servers = agent["mcp_servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0]["mcp_server_id"], http["id"]);
    assert_eq!(servers[0]["mcp_server"], http);
    assert_eq!(servers[1]["mcp_server"], everything);
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    assert_eq!(
        c.get(&format!("/api/v1/agents/{agent_id}")).await.json,
        agent
    );

    // A published agent
    let mut body = agent_body("Writer", &key_id, &[]);
    body["publish_as_app"] = json!(true);
    body["app_type"] = json!("Writing");
    let writer = c.create("/api/v1/agents", &body).await;
    assert_eq!(writer["mcp_servers"], json!([]));

    // Orchestrator with sub-agents
    let orch = c
        .create(
            "/api/v1/orchestrators",
            &orchestrator_body("Team", &key_id, &[&agent["id"], &writer["id"]]),
        )
        .await;
    assert_audit(&orch);
    assert_eq!(orch["publish_as_app"], true);
    assert_eq!(orch["app_type"], "Productivity");
    assert_eq!(orch["pattern"], "supervisor");
    assert_eq!(orch["api_key"], key);
    assert_eq!(orch["agents"][0]["agent_id"], agent["id"]);
    assert_eq!(orch["agents"][0]["agent"], agent);
    assert_eq!(orch["agents"][1]["agent"]["name"], "Writer");
    let orch_id = orch["id"].as_str().unwrap().to_owned();
    assert_eq!(
        c.get(&format!("/api/v1/orchestrators/{orch_id}"))
            .await
            .json,
        orch
    );
    assert_eq!(c.get("/api/v1/orchestrators").await.json, json!([orch]));

    // Apps: published orchestrators, then published agents
    let apps = c.get("/api/v1/apps").await.json;
    assert_eq!(
        apps,
        json!([
            {"id": orch["id"], "name": "Team", "description": "Team goal", "icon": "Bot", "app_type": "Productivity"},
            {"id": writer["id"], "name": "Writer", "description": "Writer agent", "icon": "Bot", "app_type": "Writing"},
        ])
    );
    assert_eq!(
        c.get("/api/v1/apps/agents").await.json,
        json!([{"id": writer["id"], "name": "Writer", "description": "Writer agent", "icon": "Bot", "app_type": "agent"}])
    );

    // Update an agent's associations: PUT replaces the whole list
    let updated = c
        .put(
            &format!("/api/v1/agents/{agent_id}"),
            &agent_body("Researcher 2", &key_id, &[&everything["id"]]),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.json["name"], "Researcher 2");
    assert_eq!(updated.json["mcp_servers"].as_array().unwrap().len(), 1);
    assert_eq!(
        updated.json["mcp_servers"][0]["mcp_server_id"],
        everything["id"]
    );
    assert_eq!(updated.json["created_at"], agent["created_at"]);
    assert_ne!(updated.json["modified_at"], agent["modified_at"]);
    let orch_now = c
        .get(&format!("/api/v1/orchestrators/{orch_id}"))
        .await
        .json;
    assert_eq!(orch_now["agents"][0]["agent"]["name"], "Researcher 2");

    // Update an orchestrator's sub-agents
    let updated = c
        .put(
            &format!("/api/v1/orchestrators/{orch_id}"),
            &orchestrator_body("Team", &key_id, &[&writer["id"]]),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.json["agents"].as_array().unwrap().len(), 1);

    // Referential checks
    let r = c
        .delete(&format!("/api/v1/api-keys/{}", key_id.as_str().unwrap()))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.detail().contains("main"), "{}", r.text);
    let r = c
        .delete(&format!(
            "/api/v1/mcp-servers/{}",
            everything["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = c
        .delete(&format!(
            "/api/v1/agents/{}",
            writer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.detail().contains("orchestrator"), "{}", r.text);

    // Deletes, in dependency order
    let r = c.delete(&format!("/api/v1/orchestrators/{orch_id}")).await;
    assert_eq!(
        r.json,
        json!({"message": "Orchestrator deleted successfully"})
    );
    for id in [&agent_id, writer["id"].as_str().unwrap()] {
        let r = c.delete(&format!("/api/v1/agents/{id}")).await;
        assert_eq!(r.json, json!({"message": "Agent deleted successfully"}));
    }
    for server in [&everything, &http] {
        let r = c
            .delete(&format!(
                "/api/v1/mcp-servers/{}",
                server["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(r.json, json!({"message": "McpServer deleted successfully"}));
    }
    let r = c
        .delete(&format!("/api/v1/api-keys/{}", key_id.as_str().unwrap()))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["id"], key_id);
    assert_eq!(r.json["name"], "main");

    for path in [
        "/api/v1/agents",
        "/api/v1/orchestrators",
        "/api/v1/mcp-servers",
        "/api/v1/api-keys",
        "/api/v1/apps",
    ] {
        assert_eq!(c.get(path).await.json, json!([]), "{path}");
    }
    let r = c.get(&format!("/api/v1/agents/{agent_id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.detail().contains(&agent_id));
}

async fn api_key_secrets_are_masked(db: TestDatabase) {
    let c = client(db).await;
    let secret = "sk-proj-verysecretvalue-wxyz";
    let key = c
        .create(
            "/api/v1/api-keys",
            &json!({"name": "k", "provider_name": "OpenAI", "model_name": "m", "secret_key": secret}),
        )
        .await;
    assert_eq!(key["secret_key"], "sk-…wxyz");
    assert_eq!(key["base_url"], Value::Null);
    let id = key["id"].as_str().unwrap().to_owned();
    let uuid = uuid::Uuid::parse_str(&id).unwrap();

    // Studio's edit form sends back what it received: the secret is kept.
    let mut edit = json!({"name": "k2", "provider_name": "OpenAI", "model_name": "m2",
                          "base_url": "", "secret_key": "sk-…wxyz"});
    let r = c.put(&format!("/api/v1/api-keys/{id}"), &edit).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["name"], "k2");
    assert_eq!(r.json["base_url"], Value::Null);
    assert_eq!(r.json["secret_key"], "sk-…wxyz");
    assert_eq!(r.json["created_at"], key["created_at"]);
    let stored = c.repos.api_keys.get(uuid).await.unwrap();
    assert_eq!(stored.secret_key.expose(), secret);

    // A new secret replaces it.
    edit["secret_key"] = json!("gsk_another-secret-1234");
    let r = c.put(&format!("/api/v1/api-keys/{id}"), &edit).await;
    assert_eq!(r.json["secret_key"], "gsk…1234");
    let stored = c.repos.api_keys.get(uuid).await.unwrap();
    assert_eq!(stored.secret_key.expose(), "gsk_another-secret-1234");

    // Short secrets are masked entirely.
    let short = c
        .create(
            "/api/v1/api-keys",
            &json!({"name": "short", "provider_name": "Ollama", "model_name": "m", "secret_key": "abc"}),
        )
        .await;
    assert_eq!(short["secret_key"], "********");

    // No response carries a secret in clear.
    let agent = c.agent("a", &key["id"], &[]).await;
    for path in [
        "/api/v1/api-keys".to_owned(),
        format!("/api/v1/api-keys/{id}"),
        "/api/v1/agents".to_owned(),
        format!("/api/v1/agents/{}", agent["id"].as_str().unwrap()),
    ] {
        let r = c.get(&path).await;
        assert!(!r.text.contains("another-secret"), "{path}: {}", r.text);
        assert!(!r.text.contains("verysecret"), "{path}: {}", r.text);
    }
}

async fn trailing_slashes_without_redirects(db: TestDatabase) {
    let c = client(db).await;
    let key = c.api_key("slash").await;
    let r = c
        .post(
            "/api/v1/mcp-servers/",
            &json!({"name": "s", "config_json": {"command": "npx", "args": ["y"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = c
        .post("/api/v1/agents/", &agent_body("a", &key["id"], &[]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let agent_id = r.json["id"].as_str().unwrap().to_owned();
    for path in [
        "/api/v1/agents".to_owned(),
        "/api/v1/agents/".to_owned(),
        format!("/api/v1/agents/{agent_id}/"),
        "/api/v1/api-keys/".to_owned(),
        "/api/v1/mcp-servers/".to_owned(),
        "/api/v1/orchestrators/".to_owned(),
        "/api/v1/apps/".to_owned(),
        "/api/v1/apps/agents/".to_owned(),
        "/versions/".to_owned(),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    let r = c
        .put(
            &format!("/api/v1/agents/{agent_id}/"),
            &agent_body("b", &key["id"], &[]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = c.delete(&format!("/api/v1/agents/{agent_id}/")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn cors_preflight(db: TestDatabase) {
    let c = client(db).await;
    for origin in [
        "http://localhost:3000",
        "http://localhost:8080",
        "http://127.0.0.1:8080",
    ] {
        let r = c
            .send(
                TestRequest::default()
                    .method(actix_web::http::Method::OPTIONS)
                    .uri("/api/v1/agents/")
                    .insert_header((header::ORIGIN, origin))
                    .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "POST"))
                    .insert_header((
                        header::ACCESS_CONTROL_REQUEST_HEADERS,
                        "authorization, x-api-key, content-type, last-event-id, x-auth-scheme, prefer",
                    )),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{origin}: {}", r.text);
        assert_eq!(
            r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
            origin
        );
        let allowed = r
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
            .unwrap()
            .to_str()
            .unwrap();
        for h in [
            "authorization",
            "x-api-key",
            "content-type",
            "last-event-id",
            "x-auth-scheme",
            "prefer",
        ] {
            assert!(allowed.contains(h), "{h} not in {allowed}");
        }
    }
    let r = c
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/api/v1/agents")
                .insert_header((header::ORIGIN, "http://evil.example"))
                .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "POST")),
        )
        .await;
    assert!(r.status.is_client_error());
    assert!(r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

    let key = c
        .send(
            TestRequest::post()
                .uri("/api/v1/api-keys")
                .insert_header((header::ORIGIN, "http://localhost:8080"))
                .set_json(json!({"name": "k", "provider_name": "p", "model_name": "m", "secret_key": "s"})),
        )
        .await;
    assert_eq!(key.status, StatusCode::OK);
    let exposed = key
        .headers
        .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        exposed.contains("location") && exposed.contains("content-location"),
        "{exposed}"
    );
    assert!(
        key.headers
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with(key.json["id"].as_str().unwrap())
    );
}

async fn bad_input_is_a_4xx_naming_the_field(db: TestDatabase) {
    let c = client(db).await;
    let key = c.api_key("taken").await;
    let key_id = key["id"].as_str().unwrap().to_owned();
    let server = c.mcp_server("s").await;
    let agent = c.agent("a", &key["id"], &[&server["id"]]).await;

    let key_body = |name: Value| json!({"name": name, "provider_name": "OpenAI", "model_name": "m", "secret_key": "sk"});
    let long = |n: usize| json!("x".repeat(n));
    let cases: Vec<(&str, String, Value, StatusCode, &str)> = vec![
        (
            "POST",
            "/api/v1/api-keys".to_owned(),
            key_body(json!(5)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name: invalid type",
        ),
        (
            "POST",
            "/api/v1/api-keys".to_owned(),
            json!({"name": "n", "provider_name": "p", "model_name": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "secret_key: field required",
        ),
        (
            "POST",
            "/api/v1/api-keys".to_owned(),
            key_body(long(101)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name: must be at most 100 characters",
        ),
        (
            "POST",
            "/api/v1/api-keys".to_owned(),
            key_body(json!("  ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name: must not be empty",
        ),
        (
            "POST",
            "/api/v1/api-keys".to_owned(),
            json!({"name": "n", "provider_name": "p", "model_name": "m", "secret_key": "x".repeat(256)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "secret_key: must be at most 255",
        ),
        (
            "POST",
            "/api/v1/api-keys".to_owned(),
            json!({"name": "n", "provider_name": "p", "model_name": "m", "secret_key": "s", "base_url": "not a url"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "base_url: ",
        ),
        (
            "POST",
            "/api/v1/api-keys".to_owned(),
            key_body(json!("taken")),
            StatusCode::CONFLICT,
            "an API key named 'taken' already exists",
        ),
        (
            "POST",
            "/api/v1/api-keys".to_owned(),
            json!([1, 2]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "[0]: invalid type",
        ),
        (
            "POST",
            "/api/v1/mcp-servers".to_owned(),
            json!({"name": "m", "transport": "ws", "config_json": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "transport: unknown variant",
        ),
        (
            "POST",
            "/api/v1/mcp-servers".to_owned(),
            json!({"name": "m", "mode": "manual", "config_json": {"command": "x"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "mode: unknown variant",
        ),
        (
            "POST",
            "/api/v1/mcp-servers".to_owned(),
            json!({"name": "m", "config_json": {"args": []}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "config_json: ",
        ),
        (
            "POST",
            "/api/v1/mcp-servers".to_owned(),
            json!({"name": "m", "transport": "sse", "config_json": {"url": "ftp://x"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "config_json.url: must be an http or https URL",
        ),
        (
            "POST",
            "/api/v1/mcp-servers".to_owned(),
            json!({"name": "m", "config_json": "npx"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "config_json: ",
        ),
        (
            "POST",
            "/api/v1/mcp-servers".to_owned(),
            json!({"name": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "config_json: field required",
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            agent_body("a", &json!(UNKNOWN), &[]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "api_key_id: no API key with id",
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            agent_body("a", &key["id"], &[&server["id"], &json!(UNKNOWN)]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "mcp_servers[1].mcp_server_id: no MCP server with id 0190f000",
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            agent_body("a", &key["id"], &[&server["id"], &server["id"]]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "mcp_servers[1].mcp_server_id: ",
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            agent_body("a", &key["id"], &[&json!("nope")]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "mcp_servers[0].mcp_server_id: ",
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            agent_body(&"x".repeat(151), &key["id"], &[]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name: must be at most 150",
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            json!({"name": "a", "role": "r", "task": "t", "instructions": "i", "api_key_id": key["id"], "app_type": "x".repeat(51)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "app_type: must be at most 50",
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            json!({"name": "a", "task": "t", "instructions": "i", "api_key_id": key["id"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "role: field required",
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            json!({"name": "a", "role": "r", "task": "t", "instructions": "i", "api_key_id": key["id"], "publish_as_app": "yes"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "publish_as_app: invalid type",
        ),
        (
            "POST",
            "/api/v1/orchestrators".to_owned(),
            orchestrator_body("o", &key["id"], &[&json!(UNKNOWN)]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "agents[0].agent_id: no agent with id",
        ),
        (
            "POST",
            "/api/v1/orchestrators".to_owned(),
            orchestrator_body(&"x".repeat(101), &key["id"], &[]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name: must be at most 100",
        ),
        (
            "POST",
            "/api/v1/orchestrators".to_owned(),
            json!({"name": "o", "instructions": "i", "api_key_id": key["id"], "pattern": "mesh"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "pattern: unknown variant",
        ),
        (
            "PUT",
            format!("/api/v1/api-keys/{UNKNOWN}"),
            key_body(json!("n")),
            StatusCode::NOT_FOUND,
            "API key with id",
        ),
        (
            "PUT",
            format!("/api/v1/agents/{UNKNOWN}"),
            agent_body("a", &key["id"], &[]),
            StatusCode::NOT_FOUND,
            "Agent with id",
        ),
        (
            "PUT",
            format!("/api/v1/orchestrators/{UNKNOWN}"),
            orchestrator_body("o", &key["id"], &[]),
            StatusCode::NOT_FOUND,
            "Orchestrator with id",
        ),
        (
            "PUT",
            format!("/api/v1/mcp-servers/{UNKNOWN}"),
            json!({"name": "m", "config_json": {"command": "x"}}),
            StatusCode::NOT_FOUND,
            "MCP server with id",
        ),
    ];
    for (method, path, body, status, detail) in &cases {
        let r = c
            .raw(method, path, Some("application/json"), &body.to_string())
            .await;
        assert_eq!(r.status, *status, "{method} {path} {body}: {}", r.text);
        assert!(
            r.detail().starts_with(detail) || r.detail().contains(detail),
            "{method} {path}: expected '{detail}' in {}",
            r.text
        );
    }

    // Malformed JSON, empty bodies, wrong or missing content type, oversized bodies.
    let r = c
        .raw(
            "POST",
            "/api/v1/api-keys",
            Some("application/json"),
            "{\"name\": ",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("body: invalid JSON"), "{}", r.text);
    let r = c
        .raw("POST", "/api/v1/api-keys", Some("application/json"), "")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = c
        .raw(
            "POST",
            "/api/v1/api-keys",
            Some("text/plain"),
            &key_body(json!("n")).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.detail().contains("application/json"));
    let r = c.raw("POST", "/api/v1/agents", None, "{}").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = c
        .raw(
            "POST",
            "/api/v1/api-keys",
            Some("application/json; charset=utf-8"),
            &key_body(json!("charset")).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let huge = json!({"name": "x".repeat(2 * 1024 * 1024)}).to_string();
    let r = c
        .raw("POST", "/api/v1/api-keys", Some("application/json"), &huge)
        .await;
    assert_eq!(
        r.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        &r.text[..r.text.len().min(200)]
    );

    // Path ids, unknown rows, unknown routes and methods.
    for path in [
        "/api/v1/agents/nope",
        "/api/v1/api-keys/123",
        "/api/v1/mcp-servers/x",
        "/api/v1/orchestrators/%20",
    ] {
        let r = c.get(path).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.text
        );
        assert!(r.detail().starts_with("id: must be a UUID"), "{}", r.text);
    }
    for path in [
        "/api/v1/agents",
        "/api/v1/api-keys",
        "/api/v1/mcp-servers",
        "/api/v1/orchestrators",
    ] {
        let r = c.get(&format!("{path}/{UNKNOWN}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        let r = c.delete(&format!("{path}/{UNKNOWN}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.detail().contains(UNKNOWN), "{}", r.text);
    }
    let r = c.get("/api/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json, json!({"detail": "Not Found"}));
    let r = c.get("/nothing").await;
    assert_eq!(r.json, json!({"detail": "Not Found"}));
    let r = c
        .raw("PATCH", "/api/v1/agents", Some("application/json"), "{}")
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json, json!({"detail": "Method Not Allowed"}));

    // Duplicate name on update, too.
    let other = c.api_key("other").await;
    let r = c
        .put(
            &format!("/api/v1/api-keys/{}", other["id"].as_str().unwrap()),
            &key_body(json!("taken")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // Renaming to its own name is fine.
    let r = c
        .put(
            &format!("/api/v1/api-keys/{key_id}"),
            &key_body(json!("taken")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Nothing above changed the agent.
    let now = c
        .get(&format!("/api/v1/agents/{}", agent["id"].as_str().unwrap()))
        .await
        .json;
    assert_eq!(now["mcp_servers"], agent["mcp_servers"]);
}

async fn failed_put_changes_nothing(db: TestDatabase) {
    let c = client(db).await;
    let key = c.api_key("k").await;
    let other_key = c.api_key("other").await;
    let s1 = c.mcp_server("one").await;
    let s2 = c.mcp_server("two").await;
    let agent = c.agent("Original", &key["id"], &[&s1["id"]]).await;
    let agent_path = format!("/api/v1/agents/{}", agent["id"].as_str().unwrap());

    let r = c
        .put(
            &agent_path,
            &agent_body("Renamed", &other_key["id"], &[&s2["id"], &json!(UNKNOWN)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.detail()
            .starts_with("mcp_servers[1].mcp_server_id: no MCP server with id"),
        "{}",
        r.text
    );
    assert_eq!(c.get(&agent_path).await.json, agent);

    let r = c
        .put(
            &agent_path,
            &agent_body("Renamed", &json!(UNKNOWN), &[&s2["id"]]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("api_key_id: "), "{}", r.text);
    assert_eq!(c.get(&agent_path).await.json, agent);

    let orch = c
        .create(
            "/api/v1/orchestrators",
            &orchestrator_body("Team", &key["id"], &[&agent["id"]]),
        )
        .await;
    let orch_path = format!("/api/v1/orchestrators/{}", orch["id"].as_str().unwrap());
    let r = c
        .put(
            &orch_path,
            &orchestrator_body("Renamed", &key["id"], &[&json!(UNKNOWN)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("agents[0].agent_id: "), "{}", r.text);
    assert_eq!(c.get(&orch_path).await.json, orch);
}

async fn ordering_and_versions(db: TestDatabase) {
    let c = client(db).await;
    let r = c.get("/versions/current").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json, json!({"detail": "No version found"}));
    assert_eq!(c.get("/versions").await.json, json!([]));

    for (number, date) in [
        ("0.1.0", (2026, 1, 1)),
        ("0.3.0", (2026, 6, 1)),
        ("0.2.0", (2026, 3, 1)),
    ] {
        c.repos
            .versions
            .create(
                NewVersion {
                    version_number: number.to_owned(),
                    release_date: NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap(),
                    release_description: Some(format!("release {number}")),
                },
                "system",
            )
            .await
            .unwrap();
    }
    let versions = c.get("/versions").await.json;
    let numbers: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["0.3.0", "0.2.0", "0.1.0"]);
    let current = c.get("/versions/current").await.json;
    assert_eq!(current["version_number"], "0.3.0");
    assert_eq!(current["release_date"], "2026-06-01");
    assert_eq!(current["release_description"], "release 0.3.0");
    assert!(current["id"].is_string());

    // API keys by name.
    for name in ["charlie", "alpha", "bravo"] {
        c.api_key(name).await;
    }
    let names: Vec<String> = c
        .get("/api/v1/api-keys")
        .await
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alpha", "bravo", "charlie"]);

    // Agents and orchestrators by modified_at, newest first.
    let key = c.api_key("k").await;
    let a1 = c.agent("first", &key["id"], &[]).await;
    let _a2 = c.agent("second", &key["id"], &[]).await;
    let _a3 = c.agent("third", &key["id"], &[]).await;
    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(c.get("/api/v1/agents").await.json),
        ["third", "second", "first"]
    );
    c.put(
        &format!("/api/v1/agents/{}", a1["id"].as_str().unwrap()),
        &agent_body("first", &key["id"], &[]),
    )
    .await;
    assert_eq!(
        names(c.get("/api/v1/agents").await.json),
        ["first", "third", "second"]
    );

    let o1 = c
        .create(
            "/api/v1/orchestrators",
            &orchestrator_body("o1", &key["id"], &[]),
        )
        .await;
    c.create(
        "/api/v1/orchestrators",
        &orchestrator_body("o2", &key["id"], &[]),
    )
    .await;
    assert_eq!(
        names(c.get("/api/v1/orchestrators").await.json),
        ["o2", "o1"]
    );
    c.put(
        &format!("/api/v1/orchestrators/{}", o1["id"].as_str().unwrap()),
        &orchestrator_body("o1", &key["id"], &[]),
    )
    .await;
    assert_eq!(
        names(c.get("/api/v1/orchestrators").await.json),
        ["o1", "o2"]
    );
}

async fn orchestrator_pattern(db: TestDatabase) {
    let c = client(db).await;
    let key = c.api_key("k").await;
    let mut body = orchestrator_body("o", &key["id"], &[]);
    body["pattern"] = json!("router");
    body["publish_as_app"] = json!(false);
    let o = c.create("/api/v1/orchestrators", &body).await;
    assert_eq!(o["pattern"], "router");
    assert_eq!(o["publish_as_app"], false);
    assert_eq!(c.get("/api/v1/apps").await.json, json!([]));
    body["pattern"] = json!("sequential");
    let r = c
        .put(
            &format!("/api/v1/orchestrators/{}", o["id"].as_str().unwrap()),
            &body,
        )
        .await;
    assert_eq!(r.json["pattern"], "sequential");
    // Omitting it (Studio does) resets to the default, as PUT replaces the resource.
    let r = c
        .put(
            &format!("/api/v1/orchestrators/{}", o["id"].as_str().unwrap()),
            &orchestrator_body("o", &key["id"], &[]),
        )
        .await;
    assert_eq!(r.json["pattern"], "supervisor");
}

async fn concurrent_duplicate_names_conflict(db: TestDatabase) {
    let c = client(db).await;
    let body = json!({"name": "same", "provider_name": "p", "model_name": "m", "secret_key": "s"});
    let replies =
        futures::future::join_all((0..6).map(|_| c.post("/api/v1/api-keys", &body))).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let conflicts = replies
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (created, conflicts),
        (1, 5),
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(
        c.get("/api/v1/api-keys")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn docs_and_openapi(db: TestDatabase) {
    let c = client(db).await;
    let r = c.get("/docs").await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/docs/");
    let r = c.get("/docs/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("swagger-ui"),
        "{}",
        &r.text[..r.text.len().min(300)]
    );
    let r = c.get("/docs/swagger-initializer.js").await;
    assert!(r.text.contains("/openapi.json"));

    let doc = c.get("/openapi.json").await.json;
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/", &["get"][..]),
        ("/versions", &["get"]),
        ("/versions/current", &["get"]),
        ("/api/v1/api-keys", &["get", "post"]),
        ("/api/v1/api-keys/{id}", &["get", "put", "delete"]),
        ("/api/v1/mcp-servers", &["get", "post"]),
        ("/api/v1/mcp-servers/{id}", &["get", "put", "delete"]),
        ("/api/v1/agents", &["get", "post"]),
        ("/api/v1/agents/{id}", &["get", "put", "delete"]),
        ("/api/v1/orchestrators", &["get", "post"]),
        ("/api/v1/orchestrators/{id}", &["get", "put", "delete"]),
        ("/api/v1/apps", &["get"]),
        ("/api/v1/apps/agents", &["get"]),
    ] {
        for m in methods {
            assert!(
                paths[path][m].is_object(),
                "{m} {path} missing from OpenAPI"
            );
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in [
        "ErrorBody",
        "MessageOut",
        "ApiKeyInput",
        "ApiKeyOut",
        "McpServer",
        "McpServerInput",
        "AgentInput",
        "AgentOut",
        "OrchestratorInput",
        "OrchestratorOut",
        "OrchestratorPattern",
        "PublishedApp",
        "Version",
        "Health",
    ] {
        assert!(schemas.contains_key(s), "schema {s} missing");
    }
    assert!(doc["components"]["schemas"]["OrchestratorInput"]["properties"]["pattern"].is_object());
}
