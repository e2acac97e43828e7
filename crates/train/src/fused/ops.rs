//! The kernels of the fused step. Activations are row-major matrices whose rows are
//! (sample, frame) pairs, `frames` rows per sample, and whose columns are channels.

use gemm::Parallelism;

/// A read-only matrix: `rows` x `cols` with arbitrary strides, so a transpose is free.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub(super) data: &'a [f32],
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) row_stride: usize,
    pub(super) col_stride: usize,
}

impl<'a> View<'a> {
    /// A contiguous row-major matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    pub fn t(self) -> Self {
        Self { rows: self.cols, cols: self.rows, row_stride: self.col_stride, col_stride: self.row_stride, ..self }
    }

    pub fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.row_stride + j * self.col_stride]
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < self.data.len()
    }
}

/// dst (row-major, a.rows x b.cols) = a·b, or dst += a·b when `accumulate`: the narrow
/// kernels where they apply, else gemm.
pub fn matmul(dst: &mut [f32], a: View, b: View, accumulate: bool) {
    assert!(a.cols == b.rows && a.fits() && b.fits() && dst.len() >= a.rows * b.cols, "matmul shapes");
    if a.cols == 0 {
        if !accumulate {
            dst[..a.rows * b.cols].fill(0.0);
        }
        return;
    }
    if super::narrow::matmul(dst, a, b, accumulate) {
        return;
    }
    // SAFETY: the assertion above keeps every index gemm touches inside the three slices, and
    // `dst` is borrowed mutably, so it aliases neither operand.
    unsafe {
        gemm::gemm(
            a.rows,
            b.cols,
            a.cols,
            dst.as_mut_ptr(),
            1,
            b.cols as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// The shape of one direction's activations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub batch: usize,
    pub frames: usize,
}

impl Shape {
    pub fn rows(&self) -> usize {
        self.batch * self.frames
    }
}

/// Rows of sample b in a [batch, frames, width] buffer, from frame `from` to frame `to`.
fn frames(b: usize, from: usize, to: usize, shape: Shape, width: usize) -> std::ops::Range<usize> {
    (b * shape.frames + from) * width..(b * shape.frames + to) * width
}

/// The `lag` of tap i of a causal convolution: how many frames back it reads.
fn lag(taps: usize, i: usize, dilation: usize) -> usize {
    (taps - 1 - i) * dilation
}

/// out = x · kernel + bias for a causal convolution, Keras's kernel [k, in, out]: each tap is
/// one matmul, over all rows for the tap that reads the current frame, and sample by sample for
/// a tap `lag` frames back (frame t + lag of the output reads frame t of the input).
#[allow(clippy::too_many_arguments)]
pub fn conv_forward(
    x: &[f32],
    shape: Shape,
    c_in: usize,
    kernel: &[f32],
    bias: &[f32],
    taps: usize,
    dilation: usize,
    out: &mut Vec<f32>,
) {
    let (rows, c_out) = (shape.rows(), bias.len());
    out.clear();
    for _ in 0..rows {
        out.extend_from_slice(bias);
    }
    for (i, w) in kernel.chunks_exact(c_in * c_out).enumerate() {
        let lag = lag(taps, i, dilation);
        let w = View::new(w, c_in, c_out);
        if lag == 0 {
            matmul(out, View::new(x, rows, c_in), w, true);
        } else if lag < shape.frames {
            let kept = shape.frames - lag;
            for b in 0..shape.batch {
                let seen = View::new(&x[frames(b, 0, kept, shape, c_in)], kept, c_in);
                matmul(&mut out[frames(b, lag, shape.frames, shape, c_out)], seen, w, true);
            }
        }
    }
}

/// Gradients of [`conv_forward`]: the kernel's and the bias's (overwritten), and the input's
/// (added to `dx`) when asked for.
#[allow(clippy::too_many_arguments)]
pub fn conv_backward(
    x: &[f32],
    d_out: &[f32],
    shape: Shape,
    c_in: usize,
    kernel: &[f32],
    taps: usize,
    dilation: usize,
    grad_kernel: &mut [f32],
    grad_bias: &mut [f32],
    mut dx: Option<&mut [f32]>,
) {
    let (rows, c_out) = (shape.rows(), grad_bias.len());
    column_sums(d_out, c_out, grad_bias);
    let per_tap = c_in * c_out;
    for i in 0..taps {
        let lag = lag(taps, i, dilation);
        let (gk, w) = (&mut grad_kernel[i * per_tap..(i + 1) * per_tap], &kernel[i * per_tap..(i + 1) * per_tap]);
        let w = View::new(w, c_in, c_out);
        gk.fill(0.0);
        if lag == 0 {
            let d = View::new(d_out, rows, c_out);
            matmul(gk, View::new(x, rows, c_in).t(), d, true);
            if let Some(dx) = dx.as_deref_mut() {
                matmul(dx, d, w.t(), true);
            }
        } else if lag < shape.frames {
            // The output at frame t + lag saw the input at frame t: pair them sample by sample.
            let kept = shape.frames - lag;
            for b in 0..shape.batch {
                let seen = frames(b, 0, kept, shape, c_in);
                let d = View::new(&d_out[frames(b, lag, shape.frames, shape, c_out)], kept, c_out);
                matmul(gk, View::new(&x[seen.clone()], kept, c_in).t(), d, true);
                if let Some(dx) = dx.as_deref_mut() {
                    matmul(&mut dx[seen], d, w.t(), true);
                }
            }
        }
    }
}

/// Per-column sums, accumulated in f64 so the order of rows barely matters.
pub fn column_sums(x: &[f32], cols: usize, out: &mut [f32]) {
    let mut acc = vec![0.0f64; cols];
    for row in x.chunks_exact(cols) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += v as f64;
        }
    }
    for (o, a) in out.iter_mut().zip(acc) {
        *o = a as f32;
    }
}

/// Keras's BatchNormalization ε, as the model states it.
const BN_EPSILON: f32 = timnet::model::batch_norm::EPSILON as f32;

/// Training-mode BatchNorm statistics of `a` per channel: the mean and the biased variance,
/// as tf.nn.moments gives them.
pub fn batch_moments(a: &[f32], channels: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = (a.len() / channels).max(1) as f64;
    let mut mean = vec![0.0f64; channels];
    for row in a.chunks_exact(channels) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows);
    let mut var = vec![0.0f64; channels];
    for row in a.chunks_exact(channels) {
        for ((s, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
            let d = v as f64 - m;
            *s += d * d;
        }
    }
    (mean.iter().map(|&m| m as f32).collect(), var.iter().map(|&s| (s / rows) as f32).collect())
}

/// z = (a - mean) / sqrt(var + ε), in place; returns 1 / sqrt(var + ε) per channel.
pub fn normalize(a: &mut [f32], mean: &[f32], var: &[f32]) -> Vec<f32> {
    let inv: Vec<f32> = var.iter().map(|&v| 1.0 / (v + BN_EPSILON).sqrt()).collect();
    let channels = mean.len();
    for row in a.chunks_exact_mut(channels) {
        for ((x, &m), &s) in row.iter_mut().zip(mean).zip(&inv) {
            *x = (*x - m) * s;
        }
    }
    inv
}

/// d = relu(γ·z + β) · mask[sample, channel] (the spatial-dropout mask, already scaled).
pub fn affine_relu_mask(z: &[f32], gamma: &[f32], beta: &[f32], mask: &[f32], shape: Shape, out: &mut Vec<f32>) {
    let channels = gamma.len();
    out.clear();
    out.resize(z.len(), 0.0);
    for b in 0..shape.batch {
        let m = &mask[b * channels..(b + 1) * channels];
        let span = b * shape.frames * channels..(b + 1) * shape.frames * channels;
        for (o, zr) in out[span.clone()].chunks_exact_mut(channels).zip(z[span].chunks_exact(channels)) {
            for c in 0..channels {
                o[c] = (gamma[c] * zr[c] + beta[c]).max(0.0) * m[c];
            }
        }
    }
}

/// Back through [`affine_relu_mask`] and the training-mode normalisation: from dL/dd to
/// dL/da (written to `d`, in place), with dγ and dβ overwritten.
#[allow(clippy::too_many_arguments)]
pub fn affine_relu_mask_norm_backward(
    d: &mut [f32],
    z: &[f32],
    gamma: &[f32],
    beta: &[f32],
    inv_std: &[f32],
    mask: &[f32],
    shape: Shape,
    grad_gamma: &mut [f32],
    grad_beta: &mut [f32],
) {
    let channels = gamma.len();
    let mut sum_dn = vec![0.0f64; channels];
    let mut sum_dn_z = vec![0.0f64; channels];
    // Sums in f32 over one sample's frames (vectorised across channels), in f64 across samples.
    let mut part_dn = vec![0.0f32; channels];
    let mut part_dn_z = vec![0.0f32; channels];
    for b in 0..shape.batch {
        let m = &mask[b * channels..(b + 1) * channels];
        let span = b * shape.frames * channels..(b + 1) * shape.frames * channels;
        part_dn.fill(0.0);
        part_dn_z.fill(0.0);
        for (dr, zr) in d[span.clone()].chunks_exact_mut(channels).zip(z[span].chunks_exact(channels)) {
            for c in 0..channels {
                let on = (gamma[c] * zr[c] + beta[c] > 0.0) as u8 as f32;
                let dn = dr[c] * m[c] * on;
                dr[c] = dn;
                part_dn[c] += dn;
                part_dn_z[c] += dn * zr[c];
            }
        }
        for c in 0..channels {
            sum_dn[c] += part_dn[c] as f64;
            sum_dn_z[c] += part_dn_z[c] as f64;
        }
    }
    let rows = shape.rows() as f64;
    for c in 0..channels {
        grad_beta[c] = sum_dn[c] as f32;
        grad_gamma[c] = sum_dn_z[c] as f32;
    }
    // dL/da = γ/σ · (dn - mean(dn) - z·mean(dn·z))
    let mean_dn: Vec<f32> = sum_dn.iter().map(|&s| (s / rows) as f32).collect();
    let mean_dnz: Vec<f32> = sum_dn_z.iter().map(|&s| (s / rows) as f32).collect();
    let scale: Vec<f32> = gamma.iter().zip(inv_std).map(|(g, s)| g * s).collect();
    for (dr, zr) in d.chunks_exact_mut(channels).zip(z.chunks_exact(channels)) {
        for c in 0..channels {
            dr[c] = scale[c] * (dr[c] - mean_dn[c] - zr[c] * mean_dnz[c]);
        }
    }
}

/// Inference-mode BatchNorm with the moving statistics, then ReLU: in place.
pub fn moving_norm_relu(a: &mut [f32], gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32]) {
    let channels = gamma.len();
    let scale: Vec<f32> = gamma.iter().zip(var).map(|(g, v)| g / (v + BN_EPSILON).sqrt()).collect();
    let shift: Vec<f32> = beta.iter().zip(mean).zip(&scale).map(|((b, m), s)| b - m * s).collect();
    for row in a.chunks_exact_mut(channels) {
        for c in 0..channels {
            row[c] = (row[c] * scale[c] + shift[c]).max(0.0);
        }
    }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
