//! HTTP load: many simultaneous streaming conversations (S3) and a closed loop of
//! configuration reads (S4).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::Barrier;

/// How one streaming conversation went.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// Time from sending the request to the first token event, ms.
    pub ttft_ms: Option<f64>,
    /// Whether the stream ended normally with no error event.
    pub completed: bool,
    /// Tokens (delta events) received.
    pub deltas: usize,
    /// What went wrong.
    pub error: Option<String>,
}

/// The event type of one SSE frame (`data: {"event_type": ...}`).
fn event_type(frame: &str) -> Option<String> {
    let data: String = frame
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim_start)
        .collect();
    let v: Value = serde_json::from_str(&data).ok()?;
    v["event_type"].as_str().map(str::to_owned)
}

async fn converse(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    start: &Barrier,
) -> Conversation {
    let mut c = Conversation {
        ttft_ms: None,
        completed: false,
        deltas: 0,
        error: None,
    };
    start.wait().await;
    let t0 = Instant::now();
    let resp = match client.post(url).json(body).send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            c.error = Some(format!("HTTP {}", r.status().as_u16()));
            return c;
        }
        Err(e) => {
            c.error = Some(classify(&e));
            return c;
        }
    };
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let mut ended = false;
    let mut failed = false;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(b) => b,
            Err(e) => {
                c.error = Some(classify(&e));
                return c;
            }
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            match event_type(&frame).as_deref() {
                Some("message_delta") => {
                    if c.ttft_ms.is_none() {
                        c.ttft_ms = Some(t0.elapsed().as_secs_f64() * 1e3);
                    }
                    c.deltas += 1;
                }
                Some("error") => failed = true,
                Some("stream_end") => ended = true,
                _ => {}
            }
        }
    }
    c.completed = ended && !failed && c.deltas > 0;
    if !c.completed && c.error.is_none() {
        c.error = Some(if failed {
            "error event".into()
        } else {
            "stream ended early".into()
        });
    }
    c
}

fn classify(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else if e.is_body() || e.is_decode() {
        "body".into()
    } else {
        "request".into()
    }
}

/// Opens `n` streaming conversations at once (all released by one barrier) and waits
/// for every one to end or time out.
pub async fn conversations(
    url: &str,
    n: usize,
    body: impl Fn(usize) -> Value,
    timeout: Duration,
) -> Result<(Vec<Conversation>, Duration)> {
    let client = reqwest::Client::builder()
        .http1_only()
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .build()?;
    let start = Arc::new(Barrier::new(n + 1));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let client = client.clone();
        let url = url.to_owned();
        let body = body(i);
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            converse(&client, &url, &body, &start).await
        }));
    }
    start.wait().await;
    let t0 = Instant::now();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap_or_else(|e| Conversation {
            ttft_ms: None,
            completed: false,
            deltas: 0,
            error: Some(format!("task: {e}")),
        }));
    }
    Ok((out, t0.elapsed()))
}

/// Counts of each error.
pub fn error_counts(conversations: &[Conversation]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in conversations {
        if let Some(e) = &c.error {
            *m.entry(e.clone()).or_insert(0) += 1;
        }
    }
    m
}

/// A closed loop of `GET url` by `workers` clients for `duration`: latencies (ms) and
/// requests per second.
pub async fn closed_loop(url: &str, workers: usize, duration: Duration) -> Result<(Vec<f64>, f64)> {
    let client = reqwest::Client::builder().http1_only().build()?;
    let deadline = Instant::now() + duration;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers.max(1) {
        let client = client.clone();
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = client.get(&url).send().await?;
                let status = r.status();
                let _ = r.bytes().await?;
                if !status.is_success() {
                    anyhow::bail!("GET {url}: HTTP {status}");
                }
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let rps = all.len() as f64 / t0.elapsed().as_secs_f64();
    Ok((all, rps))
}
