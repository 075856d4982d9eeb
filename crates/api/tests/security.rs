//! Authentication and roles, secrets encrypted at rest (with rotation), input limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use common::client_configured;
use fustat_api::InputLimits;
use fustat_api::auth::AuthMode;
use fustat_persistence::secrets::SecretCipher;
use fustat_persistence::tokens::Role;
use fustat_testkit::db::TestDatabase;
use serde_json::{Value, json};

on_both_backends!(
    tokens_roles_and_principals,
    secrets_are_encrypted_at_rest_and_rotate,
    input_limits_are_enforced,
);

/// The master key of this test process (installed once; every test shares it).
fn test_cipher() -> SecretCipher {
    let cipher = SecretCipher::from_bytes(&[7u8; 32]).unwrap();
    fustat_persistence::secrets::install(cipher.clone()).unwrap();
    cipher
}

fn key_body(name: &str) -> Value {
    json!({"name": name, "provider_name": "openai", "model_name": "gpt-4o-mini", "secret_key": "sk-live-abcdef123456"})
}

async fn tokens_roles_and_principals(db: TestDatabase) {
    test_cipher();
    let c = client_configured(db, |s| s.with_auth(AuthMode::Required)).await;
    // Public: health, versions, docs.
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    assert_eq!(c.get("/openapi.json").await.status, StatusCode::OK);
    // No token: 401 with a challenge and a clear detail.
    let r = c.get("/api/v1/agents").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    assert!(r.detail().contains("X-Api-Key"), "{}", r.detail());
    let r = c
        .send(
            TestRequest::get()
                .uri("/api/v1/agents")
                .insert_header(("Authorization", "Bearer fst_nope")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.detail().contains("invalid or revoked"));
    // CORS preflights pass without a token.
    let r = c
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/api/v1/agents")
                .insert_header(("Origin", "http://localhost:3000"))
                .insert_header(("Access-Control-Request-Method", "GET")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let admin = c
        .repos
        .tokens
        .create("studio-admin", Role::Admin, "test")
        .await
        .unwrap();
    let user = c
        .repos
        .tokens
        .create("hub", Role::User, "test")
        .await
        .unwrap();
    assert!(admin.token.starts_with("fst_") && admin.token.len() > 40);
    let as_admin =
        |req: TestRequest| req.insert_header(("Authorization", format!("Bearer {}", admin.token)));
    let as_user = |req: TestRequest| req.insert_header(("X-Api-Key", user.token.clone()));
    let new_token = |body: serde_json::Value| {
        as_admin(TestRequest::post().uri("/api/v1/tokens").set_json(body))
    };

    // Admin writes; the principal is recorded.
    let r = c
        .send(as_admin(
            TestRequest::post()
                .uri("/api/v1/api-keys")
                .set_json(key_body("k1")),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["created_by"], "studio-admin");
    assert_eq!(r.json["secret_key"], "sk-…3456");

    // User reads and chats, but does not write configuration or manage tokens.
    let r = c
        .send(as_user(TestRequest::get().uri("/api/v1/api-keys")))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = c
        .send(as_user(
            TestRequest::post()
                .uri("/api/v1/api-keys")
                .set_json(key_body("k2")),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.detail().contains("'admin' token"), "{}", r.detail());
    let r = c
        .send(as_user(TestRequest::get().uri("/api/v1/tokens")))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c
        .send(as_user(TestRequest::post().uri("/api/v1/chat/stream").set_json(json!({
            "id": "00000000-0000-0000-0000-000000000000", "conversation_id": "c", "message": "hi"
        }))))
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "chat is allowed, the assistant is unknown"
    );

    // The admin token API: list (no secrets), create (shown once), revoke.
    let r = c
        .send(as_admin(TestRequest::get().uri("/api/v1/tokens")))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains(&admin.token) && !r.text.contains("token_hash"));
    let r = c
        .send(new_token(json!({"name": "ci", "role": "user"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ci = r.json["token"].as_str().unwrap().to_owned();
    let r = c
        .send(new_token(json!({"name": "ci", "role": "user"})))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = c
        .send(new_token(json!({"name": "x", "role": "root"})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("role"), "{}", r.detail());
    let r = c
        .send(as_admin(TestRequest::delete().uri("/api/v1/tokens/ci")))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json["revoked_at"].is_string());
    let r = c
        .send(
            TestRequest::get()
                .uri("/api/v1/agents")
                .insert_header(("X-Api-Key", ci)),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn secrets_are_encrypted_at_rest_and_rotate(db: TestDatabase) {
    let current = test_cipher();
    let c = client_configured(db, |s| s).await;
    let key = c.create("/api/v1/api-keys", &key_body("enc")).await;
    let id = key["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(key["secret_key"], "sk-…3456");
    let stored = c.repos.api_keys.stored_secret(id).await.unwrap().unwrap();
    assert!(stored.starts_with("enc:v1:"), "{stored}");
    assert!(!stored.contains("abcdef123456"));
    assert_eq!(
        c.repos.api_keys.get(id).await.unwrap().secret_key.expose(),
        "sk-live-abcdef123456"
    );

    // Studio sends the mask back unchanged: the secret stays.
    let mut body = key_body("enc");
    body["secret_key"] = json!("sk-…3456");
    body["model_name"] = json!("gpt-4o");
    let r = c.put(&format!("/api/v1/api-keys/{id}"), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        c.repos.api_keys.get(id).await.unwrap().secret_key.expose(),
        "sk-live-abcdef123456"
    );

    // Rotation re-encrypts every row, all or nothing; rotating back restores access.
    let next = SecretCipher::from_base64(&SecretCipher::generate_encoded().unwrap()).unwrap();
    assert_eq!(c.repos.api_keys.rotate(&current, &next).await.unwrap(), 1);
    let rotated = c.repos.api_keys.stored_secret(id).await.unwrap().unwrap();
    assert!(rotated.contains(next.key_id()));
    assert_eq!(next.decrypt(&rotated).unwrap(), "sk-live-abcdef123456");
    let r = c.get(&format!("/api/v1/api-keys/{id}")).await;
    assert_eq!(
        r.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "a key it cannot read is not served"
    );
    assert!(!r.text.contains("sk-live"));
    // A rotation from the wrong key changes nothing.
    assert!(c.repos.api_keys.rotate(&current, &next).await.is_err());
    assert_eq!(c.repos.api_keys.rotate(&next, &current).await.unwrap(), 1);
    assert_eq!(
        c.repos.api_keys.get(id).await.unwrap().secret_key.expose(),
        "sk-live-abcdef123456"
    );
}

async fn input_limits_are_enforced(db: TestDatabase) {
    test_cipher();
    let c = client_configured(db, |s| {
        s.with_limits(InputLimits {
            max_body_bytes: 4096,
            max_message_chars: 50,
        })
    })
    .await;
    let big = json!({"name": "x".repeat(5000), "provider_name": "openai", "model_name": "m", "secret_key": "s"});
    let r = c.post("/api/v1/api-keys", &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.detail().contains("4096"), "{}", r.detail());
    let long_name = json!({"name": "x".repeat(101), "provider_name": "openai", "model_name": "m", "secret_key": "s"});
    let r = c.post("/api/v1/api-keys", &long_name).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("name"), "{}", r.detail());
    let key = c.create("/api/v1/api-keys", &key_body("lim")).await;
    let agent = c.agent("A", &key["id"], &[]).await;
    let r = c
        .post(
            &format!("/api/v1/chat/stream/test/{}", agent["id"].as_str().unwrap()),
            &json!({"conversation_id": "c", "message": "y".repeat(51)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.detail(),
        "message: must be at most 50 characters (got 51)"
    );
}
