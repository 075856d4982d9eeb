//! LLM provider credentials (`/api-keys`). Not service authentication.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::Audit;
use crate::error::DomainError;
use crate::limits;
use crate::secret::Secret;
use crate::validate;

/// A stored API key, with its secret in clear. Never serialized; see [`ApiKeyOut`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Row id.
    pub id: Uuid,
    /// Unique display name.
    pub name: String,
    /// Provider (`OpenAI`, `Anthropic`, `Gemini`, `Groq`, `Ollama`, …; case-insensitive).
    pub provider_name: String,
    /// Model to call.
    pub model_name: String,
    /// The provider endpoint, when not the provider's default.
    pub base_url: Option<String>,
    /// The credential.
    pub secret_key: Secret,
    /// Audit columns.
    pub audit: Audit,
}

/// Body of `POST /api-keys` and `PUT /api-keys/{id}`.
#[derive(Clone, Deserialize, ToSchema)]
pub struct ApiKeyInput {
    /// Unique display name (at most 100 characters).
    #[schema(example = "OpenAI GPT-4o mini", max_length = 100)]
    pub name: String,
    /// Provider name (at most 100 characters).
    #[schema(example = "OpenAI", max_length = 100)]
    pub provider_name: String,
    /// Model name (at most 100 characters).
    #[schema(example = "gpt-4o-mini", max_length = 100)]
    pub model_name: String,
    /// Provider endpoint (http or https, at most 255 characters); blank means the
    /// provider's default.
    #[serde(default)]
    #[schema(example = "https://api.openai.com/v1/", max_length = 255)]
    pub base_url: Option<String>,
    /// The credential (at most 255 characters). On update, sending back the mask that
    /// was returned keeps the stored secret.
    #[schema(example = "sk-…", max_length = 255)]
    pub secret_key: String,
}

impl fmt::Debug for ApiKeyInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyInput")
            .field("name", &self.name)
            .field("provider_name", &self.provider_name)
            .field("model_name", &self.model_name)
            .field("base_url", &self.base_url)
            .field("secret_key", &"********")
            .finish()
    }
}

impl ApiKeyInput {
    /// Checks every field and normalizes a blank `base_url` to none.
    pub fn validate(mut self) -> Result<Self, DomainError> {
        validate::required("name", &self.name, limits::API_KEY_NAME)?;
        validate::required(
            "provider_name",
            &self.provider_name,
            limits::API_KEY_PROVIDER_NAME,
        )?;
        validate::required("model_name", &self.model_name, limits::API_KEY_MODEL_NAME)?;
        self.base_url = validate::non_blank(self.base_url);
        if let Some(url) = &self.base_url {
            validate::max_len("base_url", url, limits::API_KEY_BASE_URL)?;
            validate::http_url("base_url", url)?;
        }
        validate::required("secret_key", &self.secret_key, limits::API_KEY_SECRET_KEY)?;
        Ok(self)
    }
}

/// An API key as returned to clients: the secret is masked (`sk-…abcd`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyOut {
    /// Row id.
    pub id: Uuid,
    /// Unique display name.
    pub name: String,
    /// Provider name.
    pub provider_name: String,
    /// Model name.
    pub model_name: String,
    /// Provider endpoint, or null for the provider's default.
    pub base_url: Option<String>,
    /// The masked secret: a short prefix and the last four characters.
    #[schema(example = "sk-…abcd")]
    pub secret_key: String,
    /// Audit columns.
    #[serde(flatten)]
    pub audit: Audit,
}

impl From<&ApiKey> for ApiKeyOut {
    fn from(key: &ApiKey) -> Self {
        ApiKeyOut {
            id: key.id,
            name: key.name.clone(),
            provider_name: key.provider_name.clone(),
            model_name: key.model_name.clone(),
            base_url: key.base_url.clone(),
            secret_key: key.secret_key.masked(),
            audit: key.audit.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ApiKeyInput {
        ApiKeyInput {
            name: "k".into(),
            provider_name: "OpenAI".into(),
            model_name: "gpt-4o-mini".into(),
            base_url: Some("  ".into()),
            secret_key: "sk-secret-value-1234".into(),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let ok = input().validate().unwrap();
        assert_eq!(ok.base_url, None);
        let mut long = input();
        long.name = "x".repeat(101);
        let err = long.validate().unwrap_err();
        assert!(matches!(err, DomainError::Validation { ref field, .. } if field == "name"));
        let mut bad_url = input();
        bad_url.base_url = Some("ftp://x".into());
        assert!(
            bad_url
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("base_url")
        );
    }

    #[test]
    fn debug_redacts_the_secret() {
        assert!(!format!("{:?}", input()).contains("sk-secret"));
    }
}
