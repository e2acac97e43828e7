//! Small SVG charts: probability bars, probability timelines, fusion weights and contributions.

use leptos::prelude::*;

use crate::state::TimePoint;

/// One colour per class, distinguishable and stable.
pub fn class_colour(k: usize) -> &'static str {
    const COLOURS: [&str; 8] = ["#d1495b", "#8d96a3", "#66a182", "#2e4057", "#edae49", "#00798c", "#6a4c93", "#c17c74"];
    COLOURS[k % COLOURS.len()]
}

#[component]
pub fn Probabilities(labels: Vec<String>, values: Vec<f32>) -> impl IntoView {
    let rows = labels
        .into_iter()
        .zip(values)
        .enumerate()
        .map(|(k, (label, p))| {
            let width = format!("{:.1}%", 100.0 * p);
            view! {
                <div class="prob" role="listitem">
                    <span class="prob-label">{label}</span>
                    <span class="prob-bar"><span style:width={width.clone()} style:background={class_colour(k)}></span></span>
                    <span class="prob-value">{width}</span>
                </div>
            }
        })
        .collect_view();
    view! { <div class="probabilities" role="list" data-testid="probabilities">{rows}</div> }
}

/// Class probabilities over time, one line per class, with a legend; stretches without speech
/// are shaded and say so, rather than read as a confident line.
#[component]
pub fn Timeline(
    points: Signal<Vec<TimePoint>>,
    labels: Signal<Vec<String>>,
    testid: &'static str,
    #[prop(optional)] on_pick: Option<Callback<usize>>,
) -> impl IntoView {
    const W: f32 = 600.0;
    const H: f32 = 160.0;
    const LEFT: f32 = 34.0;
    let lines = move || {
        let points = points.get();
        let labels = labels.get();
        let (t0, t1) = (points.first().map_or(0.0, |p| p.seconds), points.last().map_or(1.0, |p| p.seconds));
        let span = (t1 - t0).max(1e-3);
        let x = move |t: f32| LEFT + (W - LEFT - 4.0) * (t - t0) / span;
        let y = |p: f32| 4.0 + (H - 24.0) * (1.0 - p);
        let classes = labels.len();
        let polylines = (0..classes)
            .map(|k| {
                let path: Vec<String> = points
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", x(p.seconds), y(p.probabilities.get(k).copied().unwrap_or(0.0))))
                    .collect();
                view! { <polyline points={path.join(" ")} fill="none" stroke={class_colour(k)} stroke-width="2"/> }
            })
            .collect_view();
        let markers = on_pick.map(|pick| {
            points
                .iter()
                .enumerate()
                .map(|(i, TimePoint { seconds: t, .. })| {
                    view! {
                        <rect x={x(*t) - 4.0} y="0" width="8" height={H - 20.0} fill="transparent" class="pick"
                            on:click=move |_| pick.run(i)><title>{format!("window {} at {:.1} s", i + 1, t)}</title></rect>
                    }
                })
                .collect_view()
        });
        // Each point without speech shades the stretch halfway to its neighbours.
        let quiet = (0..points.len())
            .filter(|&i| !points[i].speech)
            .map(|i| {
                let at = |j: usize| x(points[j].seconds);
                let from = if i == 0 { at(0) } else { (at(i - 1) + at(i)) / 2.0 };
                let to = if i + 1 == points.len() { at(i) } else { (at(i) + at(i + 1)) / 2.0 };
                view! {
                    <rect x={from - 2.0} y="0" width={(to - from + 4.0).max(4.0)} height={H - 20.0} class="no-speech">
                        <title>"no speech here"</title>
                    </rect>
                }
            })
            .collect_view();
        let legend = labels
            .iter()
            .enumerate()
            .map(
                |(k, l)| view! { <span class="legend-item"><i style:background={class_colour(k)}></i>{l.clone()}</span> },
            )
            .collect_view();
        view! {
            <svg viewBox={format!("0 0 {W} {H}")} class="timeline" role="img" aria-label="Class probabilities over time">
                <line x1={LEFT} y1={y(0.0)} x2={W} y2={y(0.0)} stroke="#999"/>
                <line x1={LEFT} y1={y(1.0)} x2={W} y2={y(1.0)} stroke="#ddd"/>
                <text x="2" y={y(1.0) + 4.0} class="axis">"100%"</text>
                <text x="8" y={y(0.0) + 4.0} class="axis">"0%"</text>
                <text x={LEFT} y={H - 2.0} class="axis">{format!("{t0:.1} s")}</text>
                <text x={W - 40.0} y={H - 2.0} class="axis">{format!("{t1:.1} s")}</text>
                {quiet}
                {polylines}
                {markers}
            </svg>
            <div class="legend">{legend}</div>
        }
    };
    view! { <div class="timeline-box" data-testid={testid}>{lines}</div> }
}

/// The fusion weights w_j, and each scale's share W·(w_j g_j) of each class's logit.
#[component]
pub fn Fusion(
    labels: Vec<String>,
    weights: Vec<f32>,
    contributions: Vec<Vec<f32>>,
    bias: Vec<f32>,
    logits: Vec<f32>,
) -> impl IntoView {
    let max_w = weights.iter().fold(0.0f32, |m, w| m.max(w.abs())).max(1e-6);
    let bars = weights
        .iter()
        .enumerate()
        .map(|(j, w)| {
            let height = format!("{:.0}%", 100.0 * w.abs() / max_w);
            view! {
                <div class="wbar" title={format!("w{} = {w:.3}", j + 1)}>
                    <span class:negative={*w < 0.0} style:height=height></span>
                    <small>{format!("{}", 1 << j)}</small>
                </div>
            }
        })
        .collect_view();
    let max_c = contributions.iter().flatten().fold(0.0f32, |m, c| m.max(c.abs())).max(1e-6);
    let cell = move |v: f32| {
        let a = (v.abs() / max_c).min(1.0);
        let colour = if v >= 0.0 { format!("rgba(0,121,140,{a:.2})") } else { format!("rgba(209,73,91,{a:.2})") };
        view! { <td style:background={colour}>{format!("{v:+.2}")}</td> }
    };
    let header = labels.iter().map(|l| view! { <th scope="col">{l.clone()}</th> }).collect_view();
    let rows = contributions
        .iter()
        .enumerate()
        .map(|(j, row)| {
            view! { <tr><th scope="row">{format!("scale {} (d={})", j + 1, 1 << j)}</th>{row.iter().map(|&v| cell(v)).collect_view()}</tr> }
        })
        .collect_view();
    let plain = |name: &'static str, values: &[f32]| {
        let cells = values.iter().map(|v| view! { <td>{format!("{v:+.2}")}</td> }).collect_view();
        view! { <tr class="sum"><th scope="row">{name}</th>{cells}</tr> }
    };
    view! {
        <div class="fusion" data-testid="fusion">
            <h3>"Dynamic fusion"</h3>
            <p class="hint">"How much each time scale (dilation d, in frames) counts: the learned weights w."</p>
            <div class="wbars" role="img" aria-label="Fusion weights per scale">{bars}</div>
            <p class="hint">"Each scale's share of each emotion's score for this clip; with the bias they add up to the logits."</p>
            <div class="table-scroll">
                <table class="contributions">
                    <thead><tr><th></th>{header}</tr></thead>
                    <tbody>{rows}{plain("bias", &bias)}{plain("logit", &logits)}</tbody>
                </table>
            </div>
        </div>
    }
}
