//! Long-term memory: JSON documents kept under a namespace (a path of labels) and a key,
//! shared across conversations.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::RwLock;

/// A stored document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreItem {
    /// Where it is kept.
    pub namespace: Vec<String>,
    /// Its key within the namespace.
    pub key: String,
    /// The document (a JSON object).
    pub value: Value,
    /// When it was first stored.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// How well it matched a search query, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// Which items [`Store::search`] returns.
#[derive(Debug, Clone, Default)]
pub struct StoreSearch {
    /// Only items whose namespace starts with these labels.
    pub namespace_prefix: Vec<String>,
    /// Only items whose value has these top-level fields with these values.
    pub filter: Map<String, Value>,
    /// Rank by how many of the query's words appear in the value (items matching none
    /// are left out).
    pub query: Option<String>,
    /// At most this many.
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
}

/// Which namespaces [`Store::list_namespaces`] returns.
#[derive(Debug, Clone, Default)]
pub struct NamespaceQuery {
    /// Only namespaces starting with these labels.
    pub prefix: Vec<String>,
    /// Only namespaces ending with these labels.
    pub suffix: Vec<String>,
    /// Cut namespaces to this many labels (duplicates removed).
    pub max_depth: Option<usize>,
    /// At most this many.
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
}

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The input is not acceptable (a label with a dot, say).
    #[error("{0}")]
    Invalid(String),
    /// The storage failed.
    #[error("store failed: {0}")]
    Storage(String),
}

/// Checks a namespace: at least one label, none empty or containing a dot.
pub fn validate_namespace(namespace: &[String]) -> Result<(), StoreError> {
    if namespace.is_empty() {
        return Err(StoreError::Invalid(
            "namespace must have at least one label".into(),
        ));
    }
    for label in namespace {
        if label.is_empty() {
            return Err(StoreError::Invalid(
                "namespace labels must not be empty".into(),
            ));
        }
        if label.contains('.') {
            return Err(StoreError::Invalid(format!(
                "namespace label '{label}' must not contain a '.'"
            )));
        }
    }
    Ok(())
}

/// Long-term memory.
#[async_trait]
pub trait Store: Send + Sync {
    /// Stores (or replaces) a document.
    async fn put(&self, namespace: &[String], key: &str, value: Value) -> Result<(), StoreError>;

    /// A document, if it exists.
    async fn get(&self, namespace: &[String], key: &str) -> Result<Option<StoreItem>, StoreError>;

    /// Forgets a document (no error when it does not exist).
    async fn delete(&self, namespace: &[String], key: &str) -> Result<(), StoreError>;

    /// Documents matching a search, best first when there is a query, otherwise most
    /// recently updated first.
    async fn search(&self, search: StoreSearch) -> Result<Vec<StoreItem>, StoreError>;

    /// The namespaces in use.
    async fn list_namespaces(&self, query: NamespaceQuery) -> Result<Vec<Vec<String>>, StoreError>;
}

/// Scores `value` against the words of `query`: the share of words found (case
/// insensitive) in its JSON text. Zero means no match.
pub fn text_score(value: &Value, query: &str) -> f64 {
    let words: Vec<String> = query
        .split_whitespace()
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return 1.0;
    }
    let text = value.to_string().to_lowercase();
    let found = words.iter().filter(|w| text.contains(w.as_str())).count();
    found as f64 / words.len() as f64
}

/// True when every field of `filter` equals the value's field.
pub fn matches_filter(value: &Value, filter: &Map<String, Value>) -> bool {
    filter.iter().all(|(k, v)| value.get(k) == Some(v))
}

/// Orders, scores and pages a search over candidate items (shared by stores).
pub fn finish_search(mut items: Vec<StoreItem>, search: &StoreSearch) -> Vec<StoreItem> {
    items.retain(|i| matches_filter(&i.value, &search.filter));
    if let Some(q) = search.query.as_deref().filter(|q| !q.trim().is_empty()) {
        for i in &mut items {
            i.score = Some(text_score(&i.value, q));
        }
        items.retain(|i| i.score.unwrap_or(0.0) > 0.0);
        items.sort_by(|a, b| {
            b.score
                .partial_cmp(&a.score)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.updated_at.cmp(&a.updated_at))
        });
    } else {
        items.sort_by_key(|i| std::cmp::Reverse(i.updated_at));
    }
    let limit = if search.limit == 0 { 10 } else { search.limit };
    items.into_iter().skip(search.offset).take(limit).collect()
}

/// Filters, cuts and pages namespaces (shared by stores).
pub fn finish_namespaces(all: Vec<Vec<String>>, query: &NamespaceQuery) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = all
        .into_iter()
        .filter(|ns| ns.starts_with(&query.prefix) && ns.ends_with(&query.suffix))
        .map(|mut ns| {
            if let Some(d) = query.max_depth {
                ns.truncate(d);
            }
            ns
        })
        .collect();
    out.sort();
    out.dedup();
    let limit = if query.limit == 0 { 100 } else { query.limit };
    out.into_iter().skip(query.offset).take(limit).collect()
}

type ItemMap = BTreeMap<(Vec<String>, String), StoreItem>;

/// Keeps documents in process memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    items: Arc<RwLock<ItemMap>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, namespace: &[String], key: &str, value: Value) -> Result<(), StoreError> {
        validate_namespace(namespace)?;
        let now = Utc::now();
        let mut items = self.items.write().await;
        let k = (namespace.to_vec(), key.to_owned());
        let created_at = items.get(&k).map(|i| i.created_at).unwrap_or(now);
        items.insert(
            k,
            StoreItem {
                namespace: namespace.to_vec(),
                key: key.to_owned(),
                value,
                created_at,
                updated_at: now,
                score: None,
            },
        );
        Ok(())
    }

    async fn get(&self, namespace: &[String], key: &str) -> Result<Option<StoreItem>, StoreError> {
        Ok(self
            .items
            .read()
            .await
            .get(&(namespace.to_vec(), key.to_owned()))
            .cloned())
    }

    async fn delete(&self, namespace: &[String], key: &str) -> Result<(), StoreError> {
        self.items
            .write()
            .await
            .remove(&(namespace.to_vec(), key.to_owned()));
        Ok(())
    }

    async fn search(&self, search: StoreSearch) -> Result<Vec<StoreItem>, StoreError> {
        let items: Vec<StoreItem> = self
            .items
            .read()
            .await
            .values()
            .filter(|i| i.namespace.starts_with(&search.namespace_prefix))
            .cloned()
            .collect();
        Ok(finish_search(items, &search))
    }

    async fn list_namespaces(&self, query: NamespaceQuery) -> Result<Vec<Vec<String>>, StoreError> {
        let all = self
            .items
            .read()
            .await
            .keys()
            .map(|(ns, _)| ns.clone())
            .collect();
        Ok(finish_namespaces(all, &query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn put_get_search_and_namespaces() {
        let s = MemoryStore::new();
        s.put(
            &ns(&["users", "ada"]),
            "prefs",
            json!({"color": "blue", "food": "pasta"}),
        )
        .await
        .unwrap();
        s.put(&ns(&["users", "bob"]), "prefs", json!({"color": "red"}))
            .await
            .unwrap();
        s.put(&ns(&["docs"]), "a", json!({"text": "pasta recipes"}))
            .await
            .unwrap();
        assert_eq!(
            s.get(&ns(&["users", "ada"]), "prefs")
                .await
                .unwrap()
                .unwrap()
                .value["color"],
            "blue"
        );
        assert!(s.get(&ns(&["users"]), "prefs").await.unwrap().is_none());
        let found = s
            .search(StoreSearch {
                namespace_prefix: ns(&["users"]),
                filter: json!({"color": "red"}).as_object().unwrap().clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].namespace, ns(&["users", "bob"]));
        let q = s
            .search(StoreSearch {
                query: Some("pasta".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(q.len(), 2);
        assert!(q.iter().all(|i| i.score == Some(1.0)));
        let spaces = s
            .list_namespaces(NamespaceQuery {
                prefix: ns(&["users"]),
                max_depth: Some(1),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(spaces, vec![ns(&["users"])]);
        assert!(s.put(&ns(&["a.b"]), "k", json!({})).await.is_err());
        s.delete(&ns(&["docs"]), "a").await.unwrap();
        assert!(s.get(&ns(&["docs"]), "a").await.unwrap().is_none());
    }
}
