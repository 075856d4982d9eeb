//! The results: a table (stdout and Markdown), the targets met or missed, a machine
//! description, and an SVG plot drawn here (no fonts or scripts fetched).

use std::fmt::Write as _;

/// Which direction is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (latency, bytes).
    Lower,
    /// Larger is better (throughput, completion).
    Higher,
}

/// One line of the results table.
#[derive(Debug, Clone)]
pub struct Row {
    /// `S1` … `S6`.
    pub scenario: String,
    /// The configuration (checkpointer, conversations, backend …).
    pub variant: String,
    /// What is measured, with its unit.
    pub metric: String,
    /// Fustat's figure.
    pub fustat: Option<f64>,
    /// LangGraph's figure, when the scenario has a peer.
    pub peer: Option<f64>,
    /// Which direction is better.
    pub better: Better,
}

impl Row {
    /// How many times better Fustat is (LangGraph ÷ Fustat for lower-is-better figures).
    pub fn advantage(&self) -> Option<f64> {
        let (f, p) = (self.fustat?, self.peer?);
        let r = match self.better {
            Better::Lower => p / f,
            Better::Higher => f / p,
        };
        r.is_finite().then_some(r)
    }
}

/// A target and whether this run met it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The target.
    pub goal: String,
    /// What was measured.
    pub measured: String,
    /// Met or not.
    pub met: bool,
}

/// A series of the plot.
#[derive(Debug, Clone, Default)]
pub struct PlotData {
    /// S1/S2 p50 ms per run: (label, Fustat, LangGraph).
    pub orchestration: Vec<(String, f64, Option<f64>)>,
    /// S3 p99 added latency to first token, ms: (conversations, Fustat, LangGraph).
    pub concurrency: Vec<(String, f64, Option<f64>)>,
    /// S6 bytes stored per turn: Fustat, LangGraph.
    pub growth: (Vec<f64>, Option<Vec<f64>>),
}

/// Everything one run produced.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The table.
    pub rows: Vec<Row>,
    /// The targets.
    pub targets: Vec<Target>,
    /// Remarks about this run (skipped parts, failures).
    pub notes: Vec<String>,
    /// What the plot shows.
    pub plot: PlotData,
}

/// Formats a figure with a precision that suits its size.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{v:.0}");
        group_thousands(&s)
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn group_thousands(s: &str) -> String {
    let (sign, digits) = s.strip_prefix('-').map_or(("", s), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

impl Report {
    /// Adds a row.
    pub fn row(
        &mut self,
        scenario: &str,
        variant: &str,
        metric: &str,
        fustat: Option<f64>,
        peer: Option<f64>,
        better: Better,
    ) {
        self.rows.push(Row {
            scenario: scenario.into(),
            variant: variant.into(),
            metric: metric.into(),
            fustat,
            peer,
            better,
        });
    }

    /// The results table in Markdown.
    pub fn table(&self) -> String {
        let mut s = String::from(
            "| Scenario | Variant | Metric | Fustat | LangGraph | Fustat advantage |\n\
             |---|---|---|---:|---:|---:|\n",
        );
        for r in &self.rows {
            let cell = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "–".into());
            let adv = r
                .advantage()
                .map(|a| format!("{}×", fmt_num(a)))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                r.scenario,
                r.variant,
                r.metric,
                cell(r.fustat),
                cell(r.peer),
                adv
            );
        }
        s
    }

    /// The targets in Markdown.
    pub fn targets_md(&self) -> String {
        let mut s = String::from("| Target | Measured | Met |\n|---|---|---|\n");
        for t in &self.targets {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                t.goal,
                t.measured,
                if t.met { "yes" } else { "**no**" }
            );
        }
        s
    }

    /// The generated section of `docs/benchmarks.md`.
    pub fn markdown(&self, machine: &str, command: &str, plot_file: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Produced by `{command}`.\n");
        let _ = writeln!(s, "{machine}\n");
        let _ = writeln!(s, "{}", self.table());
        let _ = writeln!(s, "### Targets\n\n{}", self.targets_md());
        if !self.notes.is_empty() {
            let _ = writeln!(s, "### Notes from this run\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
            s.push('\n');
        }
        let _ = writeln!(s, "![Fustat and LangGraph, this run]({plot_file})");
        s
    }
}

/// This machine: CPU, cores, memory, kernel, load when the run started, build profile.
pub fn machine_description() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(f64::NAN);
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_owned();
    let load = read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "Machine: {cores} cores ({cpu}), {mem_gib:.1} GiB RAM, Linux {kernel}; load average \
         {load} when the run started; {profile} build; run at {}.",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
}

/// Replaces the text between `begin` and `end` in `doc` (appends both when missing).
pub fn splice(doc: &str, begin: &str, end: &str, content: &str) -> String {
    match (doc.find(begin), doc.find(end)) {
        (Some(b), Some(e)) if e > b => {
            format!("{}{begin}\n{content}{}", &doc[..b], &doc[e..])
        }
        _ => format!("{}\n{begin}\n{content}{end}\n", doc.trim_end()),
    }
}

const FUSTAT_COLOR: &str = "#1f77b4";
const PEER_COLOR: &str = "#ff7f0e";
const WIDTH: f64 = 900.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal grouped bars on a log scale.
fn bars(
    svg: &mut String,
    top: f64,
    title: &str,
    unit: &str,
    groups: &[(String, f64, Option<f64>)],
) -> f64 {
    let left = 230.0;
    let right = WIDTH - 110.0;
    let bar = 12.0;
    let _ = writeln!(
        svg,
        r#"<text x="20" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        top + 18.0,
        esc(title)
    );
    let values: Vec<f64> = groups
        .iter()
        .flat_map(|(_, f, p)| [Some(*f), *p])
        .flatten()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if values.is_empty() {
        return top + 40.0;
    }
    let lo = values
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .log10()
        .floor();
    let hi = values
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let x = |v: f64| left + (v.max(10f64.powf(lo)).log10() - lo) / (hi - lo) * (right - left);
    let mut y = top + 34.0;
    let axis_top = y;
    for (label, f, p) in groups {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" font-size="12" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + bar + 3.0,
            esc(label)
        );
        for (v, color) in [(Some(*f), FUSTAT_COLOR), (*p, PEER_COLOR)] {
            if let Some(v) = v.filter(|v| v.is_finite() && *v > 0.0) {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{left}" y="{y}" width="{:.1}" height="{bar}" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="11">{} {}</text>"#,
                    (x(v) - left).max(1.0),
                    x(v) + 4.0,
                    y + bar - 2.0,
                    fmt_num(v),
                    esc(unit)
                );
            }
            y += bar + 2.0;
        }
        y += 8.0;
    }
    // Decade grid lines.
    let mut d = lo;
    while d <= hi {
        let gx = x(10f64.powf(d));
        let _ = writeln!(
            svg,
            r##"<line x1="{gx:.1}" y1="{axis_top}" x2="{gx:.1}" y2="{y}" stroke="#ccc" stroke-dasharray="2,3"/><text x="{gx:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"##,
            y + 12.0,
            fmt_num(10f64.powf(d))
        );
        d += 1.0;
    }
    y + 24.0
}

/// Lines of per-turn figures.
fn lines(svg: &mut String, top: f64, title: &str, series: &[(&str, &[f64])]) -> f64 {
    let (left, right, height) = (90.0, WIDTH - 40.0, 220.0);
    let _ = writeln!(
        svg,
        r#"<text x="20" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        top + 18.0,
        esc(title)
    );
    let (y0, y1) = (top + 34.0, top + 34.0 + height);
    let n = series
        .iter()
        .map(|(_, s)| s.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let max = series
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1.0);
    let px = |i: usize| left + i as f64 / (n - 1) as f64 * (right - left);
    let py = |v: f64| y1 - v / max * height;
    let _ = writeln!(
        svg,
        r##"<line x1="{left}" y1="{y1}" x2="{right}" y2="{y1}" stroke="#444"/><line x1="{left}" y1="{y0}" x2="{left}" y2="{y1}" stroke="#444"/>"##
    );
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"#,
            left - 6.0,
            py(v) + 3.0,
            fmt_num(v)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">turn (1 … {n})</text>"#,
        (left + right) / 2.0,
        y1 + 18.0
    );
    for (name, s) in series {
        let color = if *name == "Fustat" {
            FUSTAT_COLOR
        } else {
            PEER_COLOR
        };
        let pts: Vec<String> = s
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", px(i), py(*v)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            pts.join(" ")
        );
    }
    y1 + 34.0
}

/// The plot: S1/S2 time per run, S3 added latency, S6 bytes per turn.
pub fn svg(plot: &PlotData) -> String {
    let mut body = String::new();
    let mut y = 44.0;
    y = bars(
        &mut body,
        y,
        "S1/S2: orchestration time per run (p50, log scale; less is better)",
        "ms",
        &plot.orchestration,
    );
    y = bars(
        &mut body,
        y,
        "S3: p99 added latency to first token (log scale; less is better)",
        "ms",
        &plot.concurrency,
    );
    let mut series: Vec<(&str, &[f64])> = vec![("Fustat", &plot.growth.0)];
    if let Some(p) = &plot.growth.1 {
        series.push(("LangGraph", p));
    }
    y = lines(
        &mut body,
        y,
        "S6: checkpoint bytes stored per conversation turn",
        &series,
    );
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y:.0}" viewBox="0 0 {WIDTH} {y:.0}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<rect x="20" y="12" width="12" height="12" fill="{FUSTAT_COLOR}"/><text x="38" y="22" font-size="12">Fustat</text>
<rect x="100" y="12" width="12" height="12" fill="{PEER_COLOR}"/><text x="118" y="22" font-size="12">LangGraph</text>
{body}</svg>
"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_between_markers() {
        let doc = "intro\n<!-- b -->\nold\n<!-- e -->\nrest\n";
        assert_eq!(
            splice(doc, "<!-- b -->", "<!-- e -->", "new\n"),
            "intro\n<!-- b -->\nnew\n<!-- e -->\nrest\n"
        );
        assert_eq!(
            splice("intro\n", "<!-- b -->", "<!-- e -->", "new\n"),
            "intro\n<!-- b -->\nnew\n<!-- e -->\n"
        );
    }

    #[test]
    fn numbers_and_advantage() {
        assert_eq!(fmt_num(12345.6), "12,346");
        assert_eq!(fmt_num(0.12345), "0.123");
        let r = Row {
            scenario: "S1".into(),
            variant: "memory".into(),
            metric: "p50 ms".into(),
            fustat: Some(2.0),
            peer: Some(50.0),
            better: Better::Lower,
        };
        assert_eq!(r.advantage(), Some(25.0));
    }

    #[test]
    fn the_plot_is_svg() {
        let plot = PlotData {
            orchestration: vec![("S1 memory".into(), 1.0, Some(30.0))],
            concurrency: vec![("1000".into(), 5.0, None)],
            growth: (vec![1.0, 2.0], Some(vec![1.0, 3.0])),
        };
        let s = svg(&plot);
        assert!(s.starts_with("<svg") && s.contains("polyline"));
    }
}
