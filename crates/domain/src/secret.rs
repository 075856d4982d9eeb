//! Secrets (LLM provider keys): kept out of logs and responses, shown only masked.

use std::fmt;

/// A secret string. `Debug` prints a placeholder and there is no `Serialize`, so it can
/// only leave the process through [`Secret::expose`] (to the provider) or
/// [`Secret::masked`] (to a client).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret in clear, for the one place that needs it (the provider call, storage).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form shown to clients: see [`mask`].
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// The secret to store when a client submits `submitted` for a row that holds `self`:
    /// a client that sends back the mask it was given (an edit form round-tripping what it
    /// received) keeps the stored secret; anything else replaces it.
    pub fn updated_with(&self, submitted: &str) -> Secret {
        if submitted == self.masked() {
            self.clone()
        } else {
            Secret::new(submitted)
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"********\")")
    }
}

/// Secrets shorter than this are masked entirely.
const MIN_PARTIAL_MASK_LEN: usize = 12;
/// Leading characters kept (a provider prefix such as `sk-`).
const KEPT_PREFIX: usize = 3;
/// Trailing characters kept, to tell keys apart.
const KEPT_SUFFIX: usize = 4;

/// Masks a secret: `sk-proj-…` becomes `sk-…abcd` (a short prefix, an ellipsis, the last
/// four characters); secrets shorter than 12 characters become `********`.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < MIN_PARTIAL_MASK_LEN {
        return "********".to_owned();
    }
    let prefix: String = chars[..KEPT_PREFIX].iter().collect();
    let suffix: String = chars[chars.len() - KEPT_SUFFIX..].iter().collect();
    format!("{prefix}…{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_a_prefix_and_the_last_four() {
        assert_eq!(mask("sk-proj-1234567890abcd"), "sk-…abcd");
        assert_eq!(mask("gsk_abcdefghijklmnop"), "gsk…mnop");
        assert_eq!(mask("short"), "********");
        assert_eq!(mask(""), "********");
        assert_eq!(mask("ééééééééééééé1234"), "ééé…1234");
    }

    #[test]
    fn the_mask_round_trips_to_the_stored_secret() {
        let stored = Secret::new("sk-proj-1234567890abcd");
        assert_eq!(stored.updated_with("sk-…abcd"), stored);
        assert_eq!(stored.updated_with("sk-new-key").expose(), "sk-new-key");
        let short = Secret::new("abc");
        assert_eq!(short.updated_with("********"), short);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("sk-very-secret-value");
        assert!(!format!("{s:?}").contains("very"));
    }
}
