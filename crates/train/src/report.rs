//! The run's summary for people: summary.json, report.md, and SVG plots of the training curves
//! and the confusion matrix.

use std::path::Path;

use plotters::prelude::*;
use serde::Serialize;

use crate::corpus::Corpus;
use crate::data::Dataset;
use crate::error::write_atomic;
use crate::fit::EpochLog;
use crate::metrics::{Scores, mean_std};
use crate::run::{FoldResult, FoldScores, Protocol, Run, RunConfig};
use crate::{Result, TrainError};

/// What was read, what was left out and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CorpusSummary {
    pub name: String,
    pub labels: Vec<String>,
    pub counts: Vec<usize>,
    pub used: usize,
    pub unreadable: Vec<(String, String)>,
    pub skipped: Vec<(String, String)>,
}

impl CorpusSummary {
    pub fn new(corpus: &Corpus, data: &Dataset) -> Self {
        let mut counts = vec![0; corpus.labels.len()];
        data.labels.iter().for_each(|&l| counts[l] += 1);
        let show = |list: &[(std::path::PathBuf, String)]| {
            list.iter().map(|(p, r)| (p.display().to_string(), r.clone())).collect()
        };
        Self {
            name: corpus.name.clone(),
            labels: corpus.labels.clone(),
            counts,
            used: data.len(),
            unreadable: show(&data.unreadable),
            skipped: show(&corpus.skipped),
        }
    }

    /// Several corpora's summaries as one (a mix's labels are shared).
    pub fn joined(parts: &[CorpusSummary]) -> CorpusSummary {
        let Some(first) = parts.first() else { return CorpusSummary::default() };
        let mut all = CorpusSummary {
            name: parts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join("+"),
            ..first.clone()
        };
        for part in &parts[1..] {
            all.counts.iter_mut().zip(&part.counts).for_each(|(a, b)| *a += b);
            all.used += part.used;
            all.unreadable.extend(part.unreadable.iter().cloned());
            all.skipped.extend(part.skipped.iter().cloned());
        }
        all
    }

    pub fn describe(&self) -> String {
        let classes: Vec<String> = self.labels.iter().zip(&self.counts).map(|(l, n)| format!("{l} {n}")).collect();
        format!(
            "{}: {} utterances ({}); {} unreadable, {} skipped",
            self.name,
            self.used,
            classes.join(", "),
            self.unreadable.len(),
            self.skipped.len()
        )
    }
}

pub struct Written {
    pub summary: String,
}

/// One reported figure across folds.
#[derive(Debug, Clone, Serialize)]
struct Figure {
    name: &'static str,
    folds: usize,
    war: (f64, f64),
    uar: (f64, f64),
    recalls: Vec<f64>,
    confusion: Vec<Vec<usize>>,
}

fn figure(name: &'static str, scores: &[&Scores]) -> Option<Figure> {
    if scores.is_empty() {
        return None;
    }
    let classes = scores[0].confusion.len();
    let mut confusion = vec![vec![0; classes]; classes];
    for s in scores {
        for (r, row) in s.confusion.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                confusion[r][c] += v;
            }
        }
    }
    let pooled = Scores { war: 0.0, uar: 0.0, confusion: confusion.clone() };
    Some(Figure {
        name,
        folds: scores.len(),
        war: mean_std(&scores.iter().map(|s| s.war).collect::<Vec<_>>()),
        uar: mean_std(&scores.iter().map(|s| s.uar).collect::<Vec<_>>()),
        recalls: pooled.recalls(),
        confusion,
    })
}

/// The three figures over folds, each over the folds that have it. The official figure (the
/// best epoch on the test set) belongs to the paper's protocols only: on unseen corpora and
/// speakers no test data may choose the epoch, so there it is not reported at all.
fn figures(folds: &[&FoldScores], protocol: &Protocol) -> Vec<Figure> {
    let official = matches!(protocol, Protocol::KFold { .. } | Protocol::LeaveOneSpeakerOut | Protocol::Holdout { .. });
    let best: Vec<&Scores> = if official {
        folds.iter().filter_map(|f| f.best_on_test.as_ref().map(|(_, s)| s)).collect()
    } else {
        Vec::new()
    };
    let last: Vec<&Scores> = folds.iter().filter_map(|f| f.last_epoch.as_ref()).collect();
    let val: Vec<&Scores> = folds.iter().filter_map(|f| f.selected_on_validation.as_ref().map(|(_, s)| s)).collect();
    [
        figure("best epoch on the test fold (official code; optimistic)", &best),
        figure("last epoch", &last),
        figure("epoch selected on a 10% validation hold-out", &val),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn write(run: &Run, results: &[FoldResult], corpora: &[CorpusSummary]) -> Result<Written> {
    let c = &run.config;
    let scores: Vec<&FoldScores> = results.iter().map(|r| &r.scores).collect();
    let figures = figures(&scores, &c.protocol);
    let corpus = &CorpusSummary::joined(corpora);
    let summary_json = serde_json::json!({
        "command": c.command, "protocol": c.protocol, "epochs": c.fit.epochs, "corpus": corpus, "corpora": corpora,
        "figures": figures, "folds": results,
    });
    write_atomic(
        &run.dir.join("summary.json"),
        serde_json::to_string_pretty(&summary_json).unwrap_or_default().as_bytes(),
    )?;

    let mut md = String::new();
    md.push_str(&format!("# {} — {:?}\n\n", corpus.name, c.protocol));
    md.push_str(&format!("Command: `{}`\n\n", c.command));
    for part in corpora.iter().filter(|_| corpora.len() > 1) {
        md.push_str(&format!("- {}\n", part.describe()));
    }
    md.push_str(&format!("{}. Epochs: {}. Folds run: {}.\n\n", corpus.describe(), c.fit.epochs, results.len()));
    let seconds: f64 = results.iter().map(|r| r.seconds).sum();
    md.push_str(&format!("Training time: {:.1} min.\n\n", seconds / 60.0));
    if !figures.is_empty() {
        md.push_str(&figures_table(&figures));
        for f in &figures {
            md.push_str(&format!("\n## {}\n\nPer-class recall (pooled over folds):\n\n", f.name));
            md.push_str(&format!("| {} |\n|{}\n", corpus.labels.join(" | "), "---|".repeat(corpus.labels.len())));
            let recalls: Vec<String> = f.recalls.iter().map(|r| format!("{:.1}", 100.0 * r)).collect();
            md.push_str(&format!(
                "| {} |\n\nConfusion matrix (rows true, columns predicted):\n\n",
                recalls.join(" | ")
            ));
            md.push_str(&format!("| | {} |\n|---|{}\n", corpus.labels.join(" | "), "---|".repeat(corpus.labels.len())));
            for (label, row) in corpus.labels.iter().zip(&f.confusion) {
                let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                md.push_str(&format!("| {label} | {} |\n", cells.join(" | ")));
            }
        }
        if let Some(f) = figures.first() {
            confusion_svg(&run.dir.join("confusion.svg"), &corpus.labels, &f.confusion)?;
            md.push_str("\n![confusion matrix](confusion.svg)\n");
        }
    }
    let folds = read_folds(&run.dir.join("metrics.jsonl"));
    if !folds.is_empty() {
        curves_svg(&run.dir.join("curves.svg"), &folds)?;
        md.push_str("\n![training curves](curves.svg)\n");
    }
    if results.len() == 1 {
        md.push_str("\nWeights: `weights/` (model.bpk + model.json).\n");
    } else {
        md.push_str(&format!(
            "\nWeights: the last epoch of each fold, `weights/fold-1/` to `weights/fold-{}/` (model.bpk + model.json).\n",
            results.len()
        ));
    }
    if !corpus.unreadable.is_empty() || !corpus.skipped.is_empty() {
        md.push_str("\n## Files not used\n\n");
        for (path, why) in corpus.unreadable.iter().chain(&corpus.skipped) {
            md.push_str(&format!("- `{path}`: {why}\n"));
        }
    }
    write_atomic(&run.dir.join("report.md"), md.as_bytes())?;
    let summary = figures
        .iter()
        .map(|f| {
            format!("{}: UAR {:.2}% WAR {:.2}% over {} fold(s)", f.name, 100.0 * f.uar.0, 100.0 * f.war.0, f.folds)
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Written { summary: if summary.is_empty() { "training finished".into() } else { summary } })
}

/// A run's folds as far as its metrics.jsonl goes, scored over epochs 1 to `up_to` (to the run's
/// last epoch when `None`), in markdown: a row per fold, then the figures over the folds that
/// reached that epoch. It reads a run still under way, and cuts a finished one short to compare
/// it with a shorter run (the ablations) at the same epoch.
pub fn fold_table(dir: &Path, up_to: Option<usize>) -> Result<String> {
    let config = read_config(dir)?;
    let epochs = config.fit.epochs;
    let cut = up_to.unwrap_or(epochs);
    if cut == 0 || cut > epochs {
        return Err(TrainError::Setup(format!("the run has epochs 1 to {epochs}; cannot cut it at epoch {cut}")));
    }
    let folds: Vec<(String, Vec<EpochLog>)> = read_folds(&dir.join("metrics.jsonl"))
        .into_iter()
        .map(|(name, logs)| (name, logs.into_iter().filter(|l| l.epoch <= cut).collect::<Vec<_>>()))
        .filter(|(_, logs)| !logs.is_empty())
        .collect();
    if folds.is_empty() {
        return Err(TrainError::damaged(&dir.join("metrics.jsonl"), "no epochs logged"));
    }

    let mut md = format!("`{}`, epochs 1 to {cut} of {epochs}\n\n", config.command);
    let (table, tested, total_minutes) = scored_folds(&folds, &config, cut);
    if tested == 0 {
        return Err(TrainError::Setup(format!(
            "{}: no split was scored on a test set (a --final run has none)",
            dir.display()
        )));
    }
    md.push_str(&table);
    // A run that averages weights also scored the last step's weights each epoch: the same
    // table for them (before averaging starts, the kept model is the last step's) sets the
    // average beside what the run would have given without it.
    let averaged = folds.iter().flat_map(|(_, logs)| logs).any(|l| unaveraged(l).is_some());
    if averaged {
        let unaveraged: Vec<(String, Vec<EpochLog>)> = folds
            .iter()
            .map(|(name, logs)| {
                (name.clone(), logs.iter().map(|l| unaveraged(l).unwrap_or_else(|| l.clone())).collect())
            })
            .collect();
        md.push_str(concat!(
            "\nThe last step's weights, without the average (`unaveraged/` in metrics.jsonl; before averaging ",
            "starts, the kept model), each figure at its own epoch, as the run would have given them without ",
            "averaging:\n\n"
        ));
        md.push_str(&scored_folds(&unaveraged, &config, cut).0);
    }
    md.push_str(&format!("\nTraining time of the epochs above: {total_minutes:.1} min.\n"));
    Ok(md)
}

/// An epoch's scores of the last step's weights (`unaveraged/test`, ...) under the usual set
/// names; `None` for an epoch that scored none (before averaging starts, or without it).
fn unaveraged(log: &EpochLog) -> Option<EpochLog> {
    let scores: Vec<(String, Scores)> = log
        .scores
        .iter()
        .filter_map(|(name, s)| name.strip_prefix("unaveraged/").map(|set| (set.to_string(), s.clone())))
        .collect();
    (!scores.is_empty()).then(|| EpochLog { scores, ..log.clone() })
}

/// A row per fold, then the figures over the folds that reached epoch `cut`; with the number of
/// folds scored on a test set and the minutes of the epochs read.
fn scored_folds(folds: &[(String, Vec<EpochLog>)], config: &RunConfig, cut: usize) -> (String, usize, f64) {
    let pct = |s: &Scores| format!("{:.2} | {:.2}", 100.0 * s.uar, 100.0 * s.war);
    // A run that selects on validation gets the selected epoch and its test scores as well.
    let select = config.select_on_validation;
    let mut columns =
        vec!["fold", "test items", "epochs", "best epoch", "best UAR", "best WAR", "last UAR", "last WAR"];
    if select {
        columns.extend(["selected epoch", "selected UAR", "selected WAR"]);
    }
    columns.push("minutes");
    let mut md = table_header(&columns);
    let (mut complete, mut tested, mut total_minutes) = (Vec::new(), 0, 0.0);
    for (name, logs) in folds {
        let scores = FoldScores::of(logs, config.select_by);
        let (Some((best_epoch, best)), Some(last)) = (&scores.best_on_test, &scores.last_epoch) else {
            continue; // a split without a test set (--final)
        };
        tested += 1;
        let reached = logs.last().is_some_and(|l| l.epoch == cut);
        let minutes = logs.iter().map(|l| l.seconds).sum::<f64>() / 60.0;
        total_minutes += minutes;
        let test_items: usize = last.confusion.iter().flatten().sum();
        let count = if reached { logs.len().to_string() } else { format!("{} (under way)", logs.len()) };
        md.push_str(&format!("| {name} | {test_items} | {count} | {best_epoch} | {} | {} |", pct(best), pct(last)));
        if select {
            match &scores.selected_on_validation {
                Some((epoch, s)) => md.push_str(&format!(" {epoch} | {} |", pct(s))),
                None => md.push_str(" – | – | – |"),
            }
        }
        md.push_str(&format!(" {minutes:.0} |\n"));
        if reached {
            complete.push(scores);
        }
    }
    md.push('\n');
    if complete.is_empty() {
        md.push_str(&format!("No fold has reached epoch {cut} yet, so there are no figures.\n"));
    } else {
        md.push_str(&figures_table(&figures(&complete.iter().collect::<Vec<_>>(), &config.protocol)));
    }
    (md, tested, total_minutes)
}

/// A run directory's run.json.
pub(crate) fn read_config(dir: &Path) -> Result<RunConfig> {
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path).map_err(TrainError::io(&path))?;
    serde_json::from_str(&text).map_err(|e| TrainError::damaged(&path, e))
}

/// A markdown table's header row and its separator.
pub(crate) fn table_header(columns: &[&str]) -> String {
    format!("| {} |\n{}|\n", columns.join(" | "), "|---".repeat(columns.len()))
}

/// The figures as a markdown table, in %.
fn figures_table(figures: &[Figure]) -> String {
    let mut md = table_header(&["figure", "folds", "UAR % (mean ± std)", "WAR % (mean ± std)"]);
    for f in figures {
        md.push_str(&format!(
            "| {} | {} | {:.2} ± {:.2} | {:.2} ± {:.2} |\n",
            f.name,
            f.folds,
            100.0 * f.uar.0,
            100.0 * f.uar.1,
            100.0 * f.war.0,
            100.0 * f.war.1
        ));
    }
    md
}

/// Each fold's epochs in metrics.jsonl, in epoch order, the folds in the order they first
/// appear. An epoch logged twice keeps its later line: a run killed between logging an epoch
/// and its checkpoint, or a fold started again without its checkpoint, repeats epochs bit for
/// bit.
pub(crate) fn read_folds(path: &Path) -> Vec<(String, Vec<EpochLog>)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut folds: Vec<(String, std::collections::BTreeMap<usize, EpochLog>)> = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let Some(fold) = v["fold"].as_str().map(str::to_string) else { continue };
        let Ok(log) = serde_json::from_value::<EpochLog>(v) else { continue };
        match folds.iter_mut().find(|(name, _)| *name == fold) {
            Some((_, logs)) => drop(logs.insert(log.epoch, log)),
            None => folds.push((fold, [(log.epoch, log)].into())),
        }
    }
    folds.into_iter().map(|(name, logs)| (name, logs.into_values().collect())).collect()
}

fn plot_error(e: impl std::fmt::Display) -> TrainError {
    TrainError::Plot(e.to_string())
}

/// Mean training loss and mean test WAR over folds, per epoch.
fn curves_svg(path: &Path, folds: &[(String, Vec<EpochLog>)]) -> Result<()> {
    let logs: Vec<&EpochLog> = folds.iter().flat_map(|(_, logs)| logs).collect();
    let epochs = logs.iter().map(|l| l.epoch).max().unwrap_or(1);
    let mean_at = |f: &dyn Fn(&EpochLog) -> Option<f64>| -> Vec<(f64, f64)> {
        (1..=epochs)
            .filter_map(|e| {
                let v: Vec<f64> = logs.iter().filter(|l| l.epoch == e).filter_map(|l| f(l)).collect();
                (!v.is_empty()).then(|| (e as f64, v.iter().sum::<f64>() / v.len() as f64))
            })
            .collect()
    };
    let loss = mean_at(&|l| Some(l.loss));
    let test = mean_at(&|l| l.scores.iter().find(|(n, _)| n == "test").map(|(_, s)| s.war));
    let val = mean_at(&|l| l.scores.iter().find(|(n, _)| n == "validation").map(|(_, s)| s.war));
    let root = SVGBackend::new(path, (800, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let (left, right) = root.split_horizontally(400);
    let max_loss = loss.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-3);
    let mut chart = ChartBuilder::on(&left)
        .caption("training loss", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(45)
        .build_cartesian_2d(1f64..epochs.max(2) as f64, 0f64..max_loss * 1.05)
        .map_err(plot_error)?;
    chart.configure_mesh().x_desc("epoch").draw().map_err(plot_error)?;
    chart.draw_series(LineSeries::new(loss, &BLUE)).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&right)
        .caption("accuracy (WAR)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(45)
        .build_cartesian_2d(1f64..epochs.max(2) as f64, 0f64..1f64)
        .map_err(plot_error)?;
    chart.configure_mesh().x_desc("epoch").draw().map_err(plot_error)?;
    if !test.is_empty() {
        chart
            .draw_series(LineSeries::new(test, &RED))
            .map_err(plot_error)?
            .label("test")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], RED));
    }
    if !val.is_empty() {
        chart
            .draw_series(LineSeries::new(val, &GREEN))
            .map_err(plot_error)?
            .label("validation")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], GREEN));
    }
    chart.configure_series_labels().border_style(BLACK).draw().map_err(plot_error)?;
    root.present().map_err(plot_error)
}

/// Row-normalised confusion heatmap with counts.
fn confusion_svg(path: &Path, labels: &[String], confusion: &[Vec<usize>]) -> Result<()> {
    let n = labels.len();
    let cell = 60;
    let margin = 110;
    let root =
        SVGBackend::new(path, ((margin + cell * n + 20) as u32, (margin + cell * n + 20) as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let style = ("sans-serif", 14).into_font();
    for (r, row) in confusion.iter().enumerate() {
        let total: usize = row.iter().sum::<usize>().max(1);
        for (c, &v) in row.iter().enumerate() {
            let share = v as f64 / total as f64;
            let shade = (255.0 * (1.0 - share)) as u8;
            let (x, y) = ((margin + c * cell) as i32, (margin + r * cell) as i32);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell as i32, y + cell as i32)],
                RGBColor(shade, shade, 255).filled(),
            ))
            .map_err(plot_error)?;
            let color = if share > 0.5 { WHITE } else { BLACK };
            root.draw(&Text::new(v.to_string(), (x + 20, y + 22), style.clone().color(&color))).map_err(plot_error)?;
        }
        root.draw(&Text::new(labels[r].clone(), (5, (margin + r * cell + 22) as i32), style.clone()))
            .map_err(plot_error)?;
    }
    for (c, label) in labels.iter().enumerate() {
        root.draw(&Text::new(label.clone(), ((margin + c * cell + 5) as i32, margin as i32 - 20), style.clone()))
            .map_err(plot_error)?;
    }
    root.draw(&Text::new("rows: true, columns: predicted", (5, 10), style)).map_err(plot_error)?;
    root.present().map_err(plot_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::FitOptions;
    use timnet::model::TimNetConfig;

    /// Two classes, two test items: `right` of them classified correctly.
    fn log(epoch: usize, right: usize) -> EpochLog {
        let predicted = [[1, 0], [1, 1], [0, 1]][right];
        EpochLog {
            epoch,
            loss: 1.0,
            seconds: 40.0,
            scores: vec![("test".into(), Scores::new(&[0, 1], &predicted, 2))],
            critic_loss: None,
        }
    }

    fn run_dir(name: &str, epochs: usize, lines: &[(&str, EpochLog)]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("timnet-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let corpora = vec![crate::run::CorpusSpec { corpus: crate::corpus::CorpusKind::Emodb, dir: "data".into() }];
        let fit = FitOptions { epochs, ..FitOptions::default() };
        let config = RunConfig {
            command: "train --corpus emodb data".into(),
            ..RunConfig::new(corpora, Protocol::KFold { k: 2 }, TimNetConfig::default(), fit)
        };
        std::fs::write(dir.join("run.json"), serde_json::to_string(&config).unwrap()).unwrap();
        let jsonl: String = lines
            .iter()
            .map(|(fold, log)| {
                let mut line = serde_json::to_value(log).unwrap();
                line["fold"] = (*fold).into();
                format!("{line}\n")
            })
            .collect();
        std::fs::write(dir.join("metrics.jsonl"), jsonl).unwrap();
        dir
    }

    #[test]
    fn fold_table_scores_the_epochs_up_to_the_cut() {
        // Epoch 2 of fold 1 was logged twice (a resume); fold 2 has not reached epoch 3 yet.
        let lines = [
            ("fold 1", log(1, 1)),
            ("fold 1", log(2, 2)),
            ("fold 1", log(2, 2)),
            ("fold 1", log(3, 0)),
            ("fold 2", log(1, 2)),
            ("fold 2", log(2, 1)),
        ];
        let dir = run_dir("cut", 3, &lines);

        let whole = fold_table(&dir, None).unwrap();
        assert!(whole.contains("| fold 1 | 2 | 3 | 2 | 100.00 | 100.00 | 0.00 | 0.00 | 2 |"), "{whole}");
        assert!(whole.contains("| fold 2 | 2 | 2 (under way) | 1 | 100.00 | 100.00 | 50.00 | 50.00 | 1 |"), "{whole}");
        assert!(
            whole.contains(
                "| best epoch on the test fold (official code; optimistic) | 1 | 100.00 ± 0.00 | 100.00 ± 0.00 |"
            ),
            "{whole}"
        );

        // Cut at epoch 1: both folds reach it; the best and the last epoch are the same.
        let first = fold_table(&dir, Some(1)).unwrap();
        assert!(
            first.contains(
                "| best epoch on the test fold (official code; optimistic) | 2 | 75.00 ± 25.00 | 75.00 ± 25.00 |"
            ),
            "{first}"
        );
        assert!(first.contains("| last epoch | 2 | 75.00 ± 25.00 | 75.00 ± 25.00 |"), "{first}");

        let beyond = fold_table(&dir, Some(4)).unwrap_err().to_string();
        assert!(beyond.contains("cannot cut it at epoch 4"), "{beyond}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_fold_started_again_counts_each_epoch_once() {
        // Fold 2 lost its checkpoint after two epochs, started again at epoch 1 and went on.
        let first_try = |epoch| EpochLog { loss: 9.0, ..log(epoch, 0) };
        let lines = [
            ("fold 1", log(1, 1)),
            ("fold 2", first_try(1)),
            ("fold 2", first_try(2)),
            ("fold 2", log(1, 2)),
            ("fold 2", log(2, 1)),
            ("fold 2", log(3, 2)),
        ];
        let dir = run_dir("again", 3, &lines);
        let folds = read_folds(&dir.join("metrics.jsonl"));
        let names: Vec<&str> = folds.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["fold 1", "fold 2"]);
        let epochs: Vec<(usize, f64)> = folds[1].1.iter().map(|l| (l.epoch, l.loss)).collect();
        assert_eq!(epochs, [(1, 1.0), (2, 1.0), (3, 1.0)]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn fold_table_sets_the_unaveraged_weights_beside_the_average() {
        // Averaging from epoch 2: epochs 2 and 3 also scored the last step's weights; epoch 1,
        // before it, counts for both (its model is the last step's), and is the plain run's best.
        let averaging = |epoch, right, last_step| {
            let mut l = log(epoch, right);
            let plain = log(epoch, last_step).scores.remove(0).1;
            l.scores.push(("unaveraged/test".into(), plain));
            l
        };
        let lines = [("fold 1", log(1, 2)), ("fold 1", averaging(2, 2, 1)), ("fold 1", averaging(3, 2, 0))];
        let dir = run_dir("average", 3, &lines);
        let table = fold_table(&dir, None).unwrap();
        let (kept, plain) = table.split_once("without the average").expect(&table);
        assert!(kept.contains("| fold 1 | 2 | 3 | 1 | 100.00 | 100.00 | 100.00 | 100.00 |"), "{table}");
        assert!(plain.contains("| fold 1 | 2 | 3 | 1 | 100.00 | 100.00 | 0.00 | 0.00 |"), "{table}");
        assert!(plain.contains("| last epoch | 1 | 0.00 ± 0.00 | 0.00 ± 0.00 |"), "{table}");

        // Without averaging there is no second table.
        let dir_plain = run_dir("no-average", 1, &[("fold 1", log(1, 1))]);
        assert!(!fold_table(&dir_plain, None).unwrap().contains("without the average"));
        std::fs::remove_dir_all(dir).unwrap();
        std::fs::remove_dir_all(dir_plain).unwrap();
    }

    #[test]
    fn fold_table_says_when_there_is_nothing_to_average() {
        let dir = run_dir("early", 3, &[("fold 1", log(1, 1))]);
        let early = fold_table(&dir, None).unwrap();
        assert!(early.contains("| fold 1 | 2 | 1 (under way) |"), "{early}");
        assert!(early.contains("No fold has reached epoch 3 yet"), "{early}");
        std::fs::remove_dir_all(dir).unwrap();

        let untested = EpochLog { scores: vec![], ..log(1, 1) };
        let dir = run_dir("final", 1, &[("all", untested)]);
        let error = fold_table(&dir, None).unwrap_err().to_string();
        assert!(error.contains("no split was scored on a test set"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
