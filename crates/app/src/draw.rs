//! Canvas drawing without a chart framework: heatmaps with axes, and a colour map.

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

/// A perceptually ordered colour map (approximately viridis), t in [0, 1].
pub fn colour(t: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] =
        [[68.0, 1.0, 84.0], [59.0, 82.0, 139.0], [33.0, 145.0, 140.0], [94.0, 201.0, 98.0], [253.0, 231.0, 37.0]];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let x = t * (STOPS.len() - 1) as f32;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f32;
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        *o = (STOPS[i][c] + f * (STOPS[i + 1][c] - STOPS[i][c])).round() as u8;
    }
    out
}

/// Pixels of a [rows = time, cols = features] matrix drawn with time along x and feature 0 at
/// the bottom, scaled from [lo, hi]: RGBA, width = time, height = features.
pub fn heatmap_pixels(values: &[f32], time: usize, features: usize, lo: f32, hi: f32) -> Vec<u8> {
    let span = (hi - lo).max(f32::EPSILON);
    let mut rgba = vec![255u8; time * features * 4];
    for t in 0..time {
        for f in 0..features {
            let [r, g, b] = colour((values[t * features + f] - lo) / span);
            let y = features - 1 - f;
            let at = (y * time + t) * 4;
            rgba[at..at + 3].copy_from_slice(&[r, g, b]);
        }
    }
    rgba
}

pub fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

pub const AXIS_LEFT: f64 = 44.0;
pub const AXIS_BOTTOM: f64 = 26.0;

/// Draw a heatmap into the canvas's plot area, with a time axis in seconds and a labelled y axis.
pub fn draw_heatmap(
    canvas: &HtmlCanvasElement,
    values: &[f32],
    time: usize,
    features: usize,
    range: (f32, f32),
    seconds: f32,
    y_label: &str,
) {
    let Some(ctx) = context(canvas) else { return };
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, w, h);
    if time == 0 || features == 0 {
        return;
    }
    let pixels = heatmap_pixels(values, time, features, range.0, range.1);
    let Ok(image) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&pixels), time as u32, features as u32) else {
        return;
    };
    // Paint at native size on a scratch canvas, then scale into the plot area.
    let Some(scratch) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("canvas").ok())
        .and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok())
    else {
        return;
    };
    scratch.set_width(time as u32);
    scratch.set_height(features as u32);
    if let Some(scratch_ctx) = context(&scratch) {
        let _ = scratch_ctx.put_image_data(&image, 0.0, 0.0);
    }
    ctx.set_image_smoothing_enabled(false);
    let (pw, ph) = (w - AXIS_LEFT - 4.0, h - AXIS_BOTTOM - 4.0);
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&scratch, AXIS_LEFT, 4.0, pw, ph);
    ctx.set_fill_style_str("#333");
    ctx.set_font("11px system-ui, sans-serif");
    let ticks = seconds.ceil().max(1.0) as usize;
    let step = if ticks > 8 { (ticks as f32 / 8.0).ceil() as usize } else { 1 };
    for s in (0..=ticks).step_by(step) {
        let x = AXIS_LEFT + pw * (s as f64 / seconds.max(f32::EPSILON) as f64);
        if x <= AXIS_LEFT + pw + 1.0 {
            let _ = ctx.fill_text(&format!("{s} s"), x - 6.0, h - 8.0);
        }
    }
    ctx.save();
    let _ = ctx.translate(12.0, 4.0 + ph / 2.0);
    let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
    let _ = ctx.fill_text(y_label, -30.0, 0.0);
    ctx.restore();
    let _ = ctx.fill_text("0", AXIS_LEFT - 14.0, 4.0 + ph);
    let _ = ctx.fill_text(&(features - 1).to_string(), AXIS_LEFT - 20.0, 14.0);
}

/// A vertical playhead at `fraction` of the plot area.
pub fn draw_playhead(canvas: &HtmlCanvasElement, fraction: f64) {
    let Some(ctx) = context(canvas) else { return };
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    let x = AXIS_LEFT + (w - AXIS_LEFT - 4.0) * fraction.clamp(0.0, 1.0);
    ctx.set_stroke_style_str("#e4572e");
    ctx.set_line_width(2.0);
    ctx.begin_path();
    ctx.move_to(x, 4.0);
    ctx.line_to(x, h - AXIS_BOTTOM);
    ctx.stroke();
}

/// Min and max of the finite values.
pub fn range(values: &[f32]) -> (f32, f32) {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn colour_map_runs_dark_to_bright() {
        assert_eq!(colour(0.0), [68, 1, 84]);
        assert_eq!(colour(1.0), [253, 231, 37]);
        assert_eq!(colour(f32::NAN), colour(0.0));
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn heatmap_puts_feature_zero_at_the_bottom() {
        // 2 frames x 2 features: only frame 1, feature 0 is hot.
        let px = heatmap_pixels(&[0.0, 0.0, 1.0, 0.0], 2, 2, 0.0, 1.0);
        // Row 1 (bottom), column 1.
        assert_eq!(&px[(2 + 1) * 4..(2 + 1) * 4 + 3], &colour(1.0));
        assert_eq!(&px[0..3], &colour(0.0));
    }
}
