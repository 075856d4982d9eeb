//! Child processes the harness starts (the fake model server, the HTTP servers, the
//! Python peer): stopped and reaped when dropped, also on error. Each child also exits
//! on its own when its standard input closes, so none outlives the harness.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// A running child process.
pub struct Proc {
    name: String,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

impl Proc {
    /// Starts `cmd` with piped stdin/stdout and stderr into `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Proc> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let err =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        let stdin = child.stdin.take();
        Ok(Proc {
            name: name.to_owned(),
            child: Some(child),
            stdin,
        })
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Waits for a stdout line starting with `ready ` and returns the rest of it.
    pub async fn ready_line(&mut self, timeout: Duration) -> Result<String> {
        let name = self.name.clone();
        let child = self
            .child
            .as_mut()
            .ok_or_else(|| anyhow!("{name} is stopped"))?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("{name}: no stdout"))?;
        let mut lines = BufReader::new(out).lines();
        let found = tokio::time::timeout(timeout, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("ready ") {
                    return Ok::<_, std::io::Error>(Some(rest.trim().to_owned()));
                }
            }
            Ok(None)
        })
        .await
        .map_err(|_| anyhow!("{name} did not become ready in {timeout:?}"))??;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        found.ok_or_else(|| anyhow!("{name} exited before it was ready"))
    }

    /// Waits for the child to exit on its own and returns its stdout.
    pub async fn output(mut self, timeout: Duration) -> Result<String> {
        let name = self.name.clone();
        let mut child = self
            .child
            .take()
            .ok_or_else(|| anyhow!("{name} is stopped"))?;
        drop(self.stdin.take());
        let mut out = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("{name}: no stdout"))?;
        let read = async {
            let mut s = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut out, &mut s).await?;
            let status = child.wait().await?;
            Ok::<_, std::io::Error>((s, status))
        };
        match tokio::time::timeout(timeout, read).await {
            Ok(Ok((s, status))) if status.success() => Ok(s),
            Ok(Ok((_, status))) => bail!("{name} failed ({status})"),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                let _ = child.kill().await;
                bail!("{name} did not finish in {timeout:?}")
            }
        }
    }

    /// Closes stdin (the child's signal to exit), waits briefly, then kills; always reaps.
    pub async fn stop(mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                // SIGTERM first: servers exit cleanly on it.
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            // Reap synchronously when possible; tokio reaps the rest in the background.
            let _ = child.try_wait();
        }
    }
}

/// Resource figures of a process from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcStat {
    /// Peak resident set size (VmHWM), bytes.
    pub peak_rss: u64,
    /// User + system CPU time, seconds.
    pub cpu_secs: f64,
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Reads the peak RSS and CPU time of `pid`.
pub fn stat(pid: u32) -> Result<ProcStat> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no VmHWM for {pid}"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces) start after ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("bad /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ')'.
    let ticks = |i: usize| -> f64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0.0) };
    Ok(ProcStat {
        peak_rss: peak_kb * 1024,
        cpu_secs: (ticks(11) + ticks(12)) / clock_ticks(),
    })
}

/// A free loopback port (bound, then released for a child to take).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Waits until `url` answers 200.
pub async fn wait_http(url: &str, timeout: Duration) -> Result<()> {
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!("{url} did not answer in {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Raises the open-file limit (soft to hard; hard too when allowed) for this process and
/// the children it starts.
pub fn raise_nofile(wanted: u64) -> u64 {
    let Ok((soft, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE) else {
        return 0;
    };
    if soft >= wanted {
        return soft;
    }
    if hard < wanted && rlimit::setrlimit(rlimit::Resource::NOFILE, wanted, wanted).is_ok() {
        return wanted;
    }
    let target = wanted.min(hard);
    match rlimit::setrlimit(rlimit::Resource::NOFILE, target, hard) {
        Ok(()) => target,
        Err(_) => soft,
    }
}
