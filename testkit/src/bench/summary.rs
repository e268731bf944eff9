//! The summary of repeated runs (`--runs N`): per case the medians and ranges of the figures,
//! and the two comparisons the performance targets name, CRI's CPU per GB against Docker's
//! (`cri` against `standard`) and the peak RSS of 2,000 files against 100 (`files2000` against
//! `standard`). Single runs on a shared machine scatter by ±20 %; the medians of runs that
//! took turns with each other are what the targets are read from (docs/benchmark.md).

use super::BenchResult;

/// The lines to print after the runs: one per case with completed throughput runs, then the
/// comparisons whose cases are there. Runs that did not complete are left out (their own line
/// says so).
pub fn summary_lines(results: &[BenchResult]) -> Vec<String> {
    let mut cases: Vec<&str> = Vec::new();
    for r in results {
        if !cases.contains(&r.case.as_str()) {
            cases.push(&r.case);
        }
    }
    let mut lines: Vec<String> = cases
        .iter()
        .filter_map(|case| CaseFigures::of(results, case).map(|f| f.line()))
        .collect();
    let standard = CaseFigures::of(results, "standard");
    if let (Some(standard), Some(cri)) = (&standard, CaseFigures::of(results, "cri")) {
        let mut line = format!(
            "cri against standard: cpu-s/GB {} by the medians",
            percent(cri.cpu_s_per_gb.median, standard.cpu_s_per_gb.median),
        );
        if let (Some(c), Some(s)) = (cri.per_gb_in_sink_cpu, standard.per_gb_in_sink_cpu) {
            line.push_str(&format!(
                ", {} with each run's CPU counted in its sink's",
                percent(c.median, s.median)
            ));
        }
        line.push_str(" (target: within +10%)");
        lines.push(line);
    }
    if let (Some(standard), Some(files2000)) = (&standard, CaseFigures::of(results, "files2000")) {
        lines.push(format!(
            "files2000 against standard: peak-rss {} by the medians (target: within ±10%)",
            percent(files2000.peak_rss_mib.median, standard.peak_rss_mib.median),
        ));
    }
    lines
}

/// `+4.5%`: how much `value` is above (or below) `base`.
fn percent(value: f64, base: f64) -> String {
    format!("{:+.1}%", (value / base - 1.0) * 100.0)
}

/// One figure over a case's runs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    /// `None` without values.
    fn of(mut values: Vec<f64>) -> Option<Spread> {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => values[n / 2],
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        Some(Spread {
            median,
            min: values[0],
            max: values[n - 1],
        })
    }
}

/// The throughput figures of one case's completed runs.
struct CaseFigures<'a> {
    case: &'a str,
    runs: usize,
    records_per_s: Spread,
    mb_per_s: Spread,
    cpu_s_per_gb: Spread,
    cpu_user_s: Spread,
    cpu_sys_s: Spread,
    peak_rss_mib: Spread,
    /// The agent's CPU per GB divided by the sink's CPU of the same run. The sink does the
    /// same work in every case (the same documents), so this leaves out how fast the shared
    /// machine happened to be during the run; `None` if a run's sink CPU is unknown.
    per_gb_in_sink_cpu: Option<Spread>,
}

impl<'a> CaseFigures<'a> {
    /// `None` when the case has no completed throughput run (idle and startup have their own
    /// figures, which a median of these would not describe).
    fn of(results: &[BenchResult], case: &'a str) -> Option<CaseFigures<'a>> {
        let runs: Vec<&BenchResult> = results
            .iter()
            .filter(|r| r.case == case && r.ok() && r.idle.is_none() && r.startup.is_none())
            .collect();
        let spread =
            |figure: fn(&BenchResult) -> f64| Spread::of(runs.iter().map(|r| figure(r)).collect());
        Some(CaseFigures {
            case,
            runs: runs.len(),
            records_per_s: spread(|r| r.records_per_s)?,
            mb_per_s: spread(|r| r.mb_per_s)?,
            cpu_s_per_gb: spread(|r| r.cpu_s_per_gb)?,
            cpu_user_s: spread(|r| r.cpu_user_s)?,
            cpu_sys_s: spread(|r| r.cpu_sys_s)?,
            peak_rss_mib: spread(|r| r.peak_rss_mib)?,
            per_gb_in_sink_cpu: if runs.iter().all(|r| r.sink_cpu_s > 0.0) {
                spread(|r| r.cpu_s_per_gb / r.sink_cpu_s)
            } else {
                None
            },
        })
    }

    fn line(&self) -> String {
        format!(
            "{} median of {} run{}: lines/s={:.0} MB/s={:.1} cpu-s/GB={:.2} ({:.2}-{:.2}) user={:.2}s sys={:.2}s peak-rss={:.1}MiB ({:.1}-{:.1})",
            self.case,
            self.runs,
            if self.runs == 1 { "" } else { "s" },
            self.records_per_s.median,
            self.mb_per_s.median,
            self.cpu_s_per_gb.median,
            self.cpu_s_per_gb.min,
            self.cpu_s_per_gb.max,
            self.cpu_user_s.median,
            self.cpu_sys_s.median,
            self.peak_rss_mib.median,
            self.peak_rss_mib.min,
            self.peak_rss_mib.max,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(case: &str, status: &str, cpu_s_per_gb: f64, peak_rss_mib: f64) -> BenchResult {
        sunk(case, status, cpu_s_per_gb, peak_rss_mib, 0.0)
    }

    /// A run whose sink took `sink_cpu_s`.
    fn sunk(
        case: &str,
        status: &str,
        cpu_s_per_gb: f64,
        peak_rss_mib: f64,
        sink_cpu_s: f64,
    ) -> BenchResult {
        BenchResult {
            case: case.into(),
            status: status.into(),
            format: "docker".into(),
            files: 100,
            records: 10,
            lines: 10,
            input_bytes: 1000,
            docs: 10,
            docs_final: 10,
            duplicates: 0,
            wall_s: 1.0,
            first_doc_s: None,
            records_per_s: 10.0 * cpu_s_per_gb,
            mb_per_s: 1.0,
            cpu_user_s: cpu_s_per_gb / 2.0,
            cpu_sys_s: 0.5,
            cpu_s: 1.0,
            cpu_s_per_gb,
            peak_rss_mib,
            wait4_maxrss_mib: 0.0,
            cpu_at_done_s: None,
            rss_hwm_at_done_mib: None,
            exit_code: Some(0),
            exit_signal: None,
            stop_s: 0.0,
            sink_cpu_s,
            sink_bulk_requests: 1,
            sink_body_bytes: 0,
            sink_wire_bytes: 0,
            sink_max_docs_per_request: 0,
            sink_indices: Default::default(),
            sink_distinct_ids: None,
            enriched: None,
            idle: None,
            startup: None,
            agent: "logship".into(),
            commit: None,
            load_avg_1m: None,
            ncpu: 2,
            unix_time: 0,
            workload_dir: String::new(),
            run_dir: None,
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts_and_nothing_of_nothing() {
        let s = Spread::of(vec![3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let s = Spread::of(vec![4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert_eq!(Spread::of(Vec::new()), None);
    }

    #[test]
    fn cases_in_turn_give_their_medians_and_the_targets_comparisons() {
        let results = vec![
            run("standard", "ok", 4.0, 24.0),
            run("cri", "ok", 4.4, 23.0),
            run("files2000", "ok", 5.0, 26.0),
            run("standard", "ok", 6.0, 23.0),
            run("cri", "ok", 4.6, 23.0),
            run("files2000", "ok", 5.0, 25.2),
            run("standard", "ok", 4.4, 25.0),
            // Left out: it did not complete.
            run("cri", "timeout", 40.0, 99.0),
            run("files2000", "ok", 9.0, 26.4),
        ];
        assert_eq!(
            summary_lines(&results),
            [
                "standard median of 3 runs: lines/s=44 MB/s=1.0 cpu-s/GB=4.40 (4.00-6.00) user=2.20s sys=0.50s peak-rss=24.0MiB (23.0-25.0)",
                "cri median of 2 runs: lines/s=45 MB/s=1.0 cpu-s/GB=4.50 (4.40-4.60) user=2.25s sys=0.50s peak-rss=23.0MiB (23.0-23.0)",
                "files2000 median of 3 runs: lines/s=50 MB/s=1.0 cpu-s/GB=5.00 (5.00-9.00) user=2.50s sys=0.50s peak-rss=26.0MiB (25.2-26.4)",
                "cri against standard: cpu-s/GB +2.3% by the medians (target: within +10%)",
                "files2000 against standard: peak-rss +8.3% by the medians (target: within ±10%)",
            ]
        );
    }

    #[test]
    fn runs_counted_in_their_sinks_cpu_leave_out_the_machines_speed() {
        // Runs on a machine twice as slow take twice the CPU, agent and sink alike; two of
        // CRI's three were slow, one of Docker's. The medians say +120 %; counted in the
        // sink's CPU, CRI is +10 % in every pair.
        let results = vec![
            sunk("standard", "ok", 4.0, 24.0, 0.5),
            sunk("cri", "ok", 4.4, 23.0, 0.5),
            sunk("standard", "ok", 8.0, 24.0, 1.0),
            sunk("cri", "ok", 8.8, 23.0, 1.0),
            sunk("standard", "ok", 4.0, 24.0, 0.5),
            sunk("cri", "ok", 8.8, 23.0, 1.0),
        ];
        let lines = summary_lines(&results);
        assert_eq!(
            lines[2],
            "cri against standard: cpu-s/GB +120.0% by the medians, +10.0% with each run's CPU counted in its sink's (target: within +10%)"
        );
    }

    #[test]
    fn a_case_without_completed_runs_and_comparisons_without_their_cases_are_left_out() {
        let results = vec![
            run("cri", "stalled", 4.0, 20.0),
            run("standard", "ok", 4.0, 20.0),
        ];
        assert_eq!(
            summary_lines(&results),
            ["standard median of 1 run: lines/s=40 MB/s=1.0 cpu-s/GB=4.00 (4.00-4.00) user=2.00s sys=0.50s peak-rss=20.0MiB (20.0-20.0)"]
        );
    }
}
