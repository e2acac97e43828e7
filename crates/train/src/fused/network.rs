//! TIM-Net's forward and backward passes for the fused step, one direction at a time (the two
//! directions only meet in the time-means g_j, so each runs on its own core).

use super::ops::{
    Shape, affine_relu_mask, affine_relu_mask_norm_backward, batch_moments, conv_backward, conv_forward,
    moving_norm_relu, normalize, sigmoid,
};
use timnet::model::params::{Block as BlockOffsets, Direction as DirectionOffsets, Span};

/// What the network's shape says about one direction.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub features: usize,
    pub filters: usize,
    pub kernel: usize,
    /// Residual blocks without a gate (the TCN ablation).
    pub residual: bool,
}

/// One block's saved activations, for the backward pass.
#[derive(Default)]
struct BlockCache {
    /// Normalised pre-activations of the two convolutions.
    z: [Vec<f32>; 2],
    /// The first sub-block's output (the second convolution's input).
    d1: Vec<f32>,
    /// The sigmoid gate (gated blocks) or the second sub-block's output (residual blocks).
    g: Vec<f32>,
    /// 1 / sqrt(batch variance + ε) of each BatchNorm.
    inv: [Vec<f32>; 2],
    /// The spatial-dropout masks.
    mask: [Vec<f32>; 2],
    /// The batch statistics, for the moving averages.
    moments: [(Vec<f32>, Vec<f32>); 2],
}

/// One direction's activations and gradient buffers, kept between steps.
#[derive(Default)]
pub struct Direction {
    /// Whether this is the backward direction, which reads the clip reversed in time.
    reversed: bool,
    /// The direction's input (the clip, or the clip reversed in time).
    input: Vec<f32>,
    /// states[0]: after the 1x1 conv; states[j+1]: block j's output.
    pub states: Vec<Vec<f32>>,
    blocks: Vec<BlockCache>,
    d_state: Vec<f32>,
    d_inner: Vec<f32>,
    d_first: Vec<f32>,
}

/// Dropout masks for one direction: per block, two [batch, channels] masks (already scaled by
/// 1 / keep), or `None` for inference.
pub type Masks<'a> = Option<&'a [[Vec<f32>; 2]]>;

impl Direction {
    /// The forward direction, or the backward one (`reversed`).
    pub fn new(reversed: bool) -> Self {
        Self { reversed, ..Self::default() }
    }

    /// Run the direction over `x` ([batch, frames, features]); in training mode (`masks`
    /// given) keep what the backward pass needs.
    pub fn forward(
        &mut self,
        params: &[f32],
        at: &DirectionOffsets,
        geo: Geometry,
        x: &[f32],
        shape: Shape,
        masks: Masks,
    ) {
        let (f, fl) = (geo.features, geo.filters);
        self.input.clear();
        if self.reversed {
            for b in 0..shape.batch {
                for t in (0..shape.frames).rev() {
                    let row = (b * shape.frames + t) * f;
                    self.input.extend_from_slice(&x[row..row + f]);
                }
            }
        } else {
            self.input.extend_from_slice(x);
        }
        let blocks = at.blocks.len();
        self.states.resize_with(blocks + 1, Vec::new);
        self.blocks.resize_with(blocks, BlockCache::default);
        let (kernel, bias) = (at.input.kernel.slice(params), at.input.bias.slice(params));
        conv_forward(&self.input, shape, f, kernel, bias, 1, 1, &mut self.states[0]);
        for (j, b) in at.blocks.iter().enumerate() {
            let (done, rest) = self.states.split_at_mut(j + 1);
            let s = &done[j];
            let out = &mut rest[0];
            let dilation = 1 << j;
            let cache = &mut self.blocks[j];
            let sub = |a: &mut Vec<f32>, which: usize, cache: &mut BlockCache, out: &mut Vec<f32>| {
                let bn = &b.norms[which];
                let (gamma, beta) = (bn.gamma.slice(params), bn.beta.slice(params));
                match masks {
                    Some(masks) => {
                        let moments = batch_moments(a, fl);
                        let inv = normalize(a, &moments.0, &moments.1);
                        affine_relu_mask(a, gamma, beta, &masks[j][which], shape, out);
                        cache.moments[which] = moments;
                        cache.inv[which] = inv;
                        cache.mask[which].clone_from(&masks[j][which]);
                    }
                    None => {
                        moving_norm_relu(a, gamma, beta, bn.mean.slice(params), bn.var.slice(params));
                        std::mem::swap(a, out);
                    }
                }
            };
            let (k1, b1) = (b.convs[0].kernel.slice(params), b.convs[0].bias.slice(params));
            conv_forward(s, shape, fl, k1, b1, geo.kernel, dilation, &mut cache.z[0]);
            let mut z1 = std::mem::take(&mut cache.z[0]);
            let mut d1 = std::mem::take(&mut cache.d1);
            sub(&mut z1, 0, cache, &mut d1);
            let (k2, b2) = (b.convs[1].kernel.slice(params), b.convs[1].bias.slice(params));
            conv_forward(&d1, shape, fl, k2, b2, geo.kernel, dilation, &mut cache.z[1]);
            let mut z2 = std::mem::take(&mut cache.z[1]);
            let mut g = std::mem::take(&mut cache.g);
            sub(&mut z2, 1, cache, &mut g);
            // g now holds the second sub-block's output h.
            out.clear();
            if geo.residual {
                out.extend(s.iter().zip(&g).map(|(x, h)| x + h));
            } else {
                g.iter_mut().for_each(|h| *h = sigmoid(*h));
                out.extend(s.iter().zip(&g).map(|(x, gate)| x * gate));
            }
            (cache.z, cache.d1, cache.g) = ([z1, z2], d1, g);
        }
    }

    /// The batch statistics of every BatchNorm in the last training-mode forward pass,
    /// per block [(mean, variance); 2].
    pub fn moments(&self) -> impl Iterator<Item = &(Vec<f32>, Vec<f32>)> {
        self.blocks.iter().flat_map(|b| b.moments.iter())
    }

    /// Back from dL/d g_j (per block j, [batch, filters], already divided by the frame count)
    /// to every parameter of this direction, written into `grads` (same layout as the
    /// parameters).
    pub fn backward(
        &mut self,
        params: &[f32],
        at: &DirectionOffsets,
        geo: Geometry,
        d_scales: &[Vec<f32>],
        shape: Shape,
        grads: &mut [f32],
    ) {
        let fl = geo.filters;
        let rows = shape.rows();
        let mut d_out = std::mem::take(&mut self.d_state);
        d_out.clear();
        d_out.resize(rows * fl, 0.0);
        for (j, b) in at.blocks.iter().enumerate().rev() {
            add_broadcast_over_frames(&mut d_out, &d_scales[j], shape, fl);
            d_out = self.block_backward(params, b, geo, j, d_out, shape, grads);
        }
        let (gk, gb) = two_mut(grads, &at.input.kernel, &at.input.bias);
        let kernel = at.input.kernel.slice(params);
        conv_backward(&self.input, &d_out, shape, geo.features, kernel, 1, 1, gk, gb, None);
        self.d_state = d_out;
    }

    /// Back through block j given dL/d(output); returns dL/d(input).
    #[allow(clippy::too_many_arguments)]
    fn block_backward(
        &mut self,
        params: &[f32],
        b: &BlockOffsets,
        geo: Geometry,
        j: usize,
        d_out: Vec<f32>,
        shape: Shape,
        grads: &mut [f32],
    ) -> Vec<f32> {
        let fl = geo.filters;
        let dilation = 1 << j;
        let s = &self.states[j];
        let cache = &self.blocks[j];
        // d_in collects dL/d(input): the skip path now, the convolution path below.
        let mut d_in = d_out;
        let mut d_h = std::mem::take(&mut self.d_inner);
        d_h.clear();
        if geo.residual {
            d_h.extend_from_slice(&d_in);
        } else {
            d_h.extend(d_in.iter().zip(s).zip(&cache.g).map(|((d, x), g)| d * x * g * (1.0 - g)));
            d_in.iter_mut().zip(&cache.g).for_each(|(d, g)| *d *= g);
        }
        // The second sub-block, whose input is the first one's output, then the first, whose
        // input is the block's.
        let mut d_d1 = std::mem::take(&mut self.d_first);
        d_d1.clear();
        d_d1.resize(shape.rows() * fl, 0.0);
        let at = (params, shape, geo, dilation);
        sub_block_backward(at, b, 1, cache, &cache.d1, &mut d_h, &mut d_d1, grads);
        sub_block_backward(at, b, 0, cache, s, &mut d_d1, &mut d_in, grads);
        self.d_inner = d_h;
        self.d_first = d_d1;
        d_in
    }
}

/// Back through sub-block `which` of a block (convolution → BatchNorm → ReLU → mask): `d`
/// holds dL/d(its output) and is used up; dL/d(its input) is added to `d_input`.
#[allow(clippy::too_many_arguments)]
fn sub_block_backward(
    (params, shape, geo, dilation): (&[f32], Shape, Geometry, usize),
    b: &BlockOffsets,
    which: usize,
    cache: &BlockCache,
    input: &[f32],
    d: &mut [f32],
    d_input: &mut [f32],
    grads: &mut [f32],
) {
    let (bn, conv) = (&b.norms[which], &b.convs[which]);
    let (gg, gb) = two_mut(grads, &bn.gamma, &bn.beta);
    let (gamma, beta) = (bn.gamma.slice(params), bn.beta.slice(params));
    let (z, inv, mask) = (&cache.z[which], &cache.inv[which], &cache.mask[which]);
    affine_relu_mask_norm_backward(d, z, gamma, beta, inv, mask, shape, gg, gb);
    let (gk, gb) = two_mut(grads, &conv.kernel, &conv.bias);
    let kernel = conv.kernel.slice(params);
    let fl = geo.filters;
    conv_backward(input, d, shape, fl, kernel, geo.kernel, dilation, gk, gb, Some(d_input));
}

/// d[b, t, c] += v[b, c] for every frame t.
fn add_broadcast_over_frames(d: &mut [f32], v: &[f32], shape: Shape, channels: usize) {
    for b in 0..shape.batch {
        let vb = &v[b * channels..(b + 1) * channels];
        for row in d[b * shape.frames * channels..(b + 1) * shape.frames * channels].chunks_exact_mut(channels) {
            for (x, &y) in row.iter_mut().zip(vb) {
                *x += y;
            }
        }
    }
}

/// Two disjoint parameter slices of `grads`, mutably.
fn two_mut<'a>(grads: &'a mut [f32], a: &Span, b: &Span) -> (&'a mut [f32], &'a mut [f32]) {
    assert!(a.end() <= b.start || b.end() <= a.start, "overlapping parameters");
    if a.start < b.start {
        let (lo, hi) = grads.split_at_mut(b.start);
        (&mut lo[a.start..a.end()], &mut hi[..b.len])
    } else {
        let (lo, hi) = grads.split_at_mut(a.start);
        (&mut hi[..a.len], &mut lo[b.start..b.end()])
    }
}
