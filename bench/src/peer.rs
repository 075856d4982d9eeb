//! The LangGraph peer: a Python virtual environment the harness creates on first run
//! (`target/bench-venv`, from `bench/peer/requirements.txt`), and the peer's programs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::proc::Proc;

/// The virtual environment.
#[derive(Debug, Clone)]
pub struct Venv {
    python: PathBuf,
    peer_dir: PathBuf,
    log_dir: PathBuf,
}

/// What an orchestration run of the peer measured.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerOrchestration {
    /// Milliseconds per run, sequential.
    pub latencies_ms: Vec<f64>,
    /// Runs per second with several in flight.
    pub throughput_rps: f64,
}

/// What the peer's checkpoint growth run measured.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerGrowth {
    /// Bytes stored per conversation turn.
    pub bytes_per_turn: Vec<f64>,
    /// Checkpoints written per turn.
    pub checkpoints_per_turn: Vec<f64>,
}

fn run_quiet(cmd: &mut std::process::Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

impl Venv {
    /// Creates the environment and installs the pinned packages, unless done before with
    /// the same requirements.
    pub fn ensure(root: &Path, log_dir: &Path) -> Result<Venv> {
        let dir = root.join("target/bench-venv");
        let peer_dir = root.join("bench/peer");
        let requirements = peer_dir.join("requirements.txt");
        let wanted = std::fs::read_to_string(&requirements)
            .with_context(|| format!("reading {}", requirements.display()))?;
        let stamp = dir.join("installed-requirements.txt");
        let python = dir.join("bin/python");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
            eprintln!(
                "[peer] installing the LangGraph peer into {} …",
                dir.display()
            );
            if !python.exists() {
                run_quiet(
                    std::process::Command::new("python3")
                        .args(["-m", "venv"])
                        .arg(&dir),
                    "python3 -m venv",
                )?;
            }
            run_quiet(
                std::process::Command::new(&python)
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "-q",
                        "--disable-pip-version-check",
                        "-r",
                    ])
                    .arg(&requirements),
                "pip install -r bench/peer/requirements.txt",
            )?;
            std::fs::write(&stamp, &wanted)?;
        }
        Ok(Venv {
            python,
            peer_dir,
            log_dir: log_dir.to_owned(),
        })
    }

    fn command(&self, script: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.python);
        cmd.arg(self.peer_dir.join(script))
            .current_dir(&self.peer_dir)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        cmd
    }

    /// Runs `orchestration.py` with `args` and parses its JSON answer.
    pub async fn orchestration<T: for<'de> Deserialize<'de>>(
        &self,
        label: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<T> {
        let mut cmd = self.command("orchestration.py");
        cmd.args(args);
        let log = self.log_dir.join(format!("peer-{label}.log"));
        let proc = Proc::spawn(&format!("LangGraph peer ({label})"), cmd, &log)?;
        let out = proc
            .output(timeout)
            .await
            .with_context(|| format!("see {}", log.display()))?;
        serde_json::from_str(out.trim()).with_context(|| format!("peer output: {out}"))
    }

    /// Starts the S3 server (FastAPI + uvicorn) on `port`.
    pub fn server(&self, port: u16, base_url: &str, sqlite_path: &Path) -> Result<Proc> {
        let mut cmd = self.command("server.py");
        cmd.args([
            "--port",
            &port.to_string(),
            "--base-url",
            base_url,
            "--sqlite-path",
        ])
        .arg(sqlite_path);
        Proc::spawn(
            "LangGraph server",
            cmd,
            &self.log_dir.join(format!("peer-server-{port}.log")),
        )
    }
}
