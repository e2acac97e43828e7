//! Where each weight sits in the fused step's flat parameter vector: the reference graph's
//! order and shapes ([`keras_layout`]), so Keras's kernels [k, in, out] are used as they are.

use std::collections::HashMap;

use crate::model::{TimNetConfig, keras_layout};

/// A weight's place in the flat vector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub start: usize,
    pub len: usize,
}

impl Span {
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    pub fn slice<'a>(&self, v: &'a [f32]) -> &'a [f32] {
        &v[self.start..self.end()]
    }
}

pub struct ConvOffsets {
    pub kernel: Span,
    pub bias: Span,
}

pub struct NormOffsets {
    pub gamma: Span,
    pub beta: Span,
    pub mean: Span,
    pub var: Span,
}

pub struct BlockOffsets {
    pub convs: [ConvOffsets; 2],
    pub norms: [NormOffsets; 2],
}

pub struct DirectionOffsets {
    pub input_kernel: Span,
    pub input_bias: Span,
    pub blocks: Vec<BlockOffsets>,
}

pub struct Layout {
    /// Names and Keras shapes, in order.
    pub entries: Vec<(String, Vec<usize>)>,
    pub total: usize,
    /// Forward, then (when bidirectional) backward.
    pub directions: Vec<DirectionOffsets>,
    pub fusion: Option<Span>,
    pub dense_kernel: Span,
    pub dense_bias: Span,
    /// Everything but the BatchNorm moving statistics.
    pub trainable: Vec<Span>,
}

impl Layout {
    pub fn new(config: &TimNetConfig) -> Self {
        let entries = keras_layout(config);
        let mut spans = HashMap::new();
        let mut trainable = Vec::new();
        let mut start = 0;
        for (name, shape) in &entries {
            let span = Span { start, len: shape.iter().product() };
            if !(name.ends_with(".moving_mean") || name.ends_with(".moving_variance")) {
                trainable.push(span);
            }
            spans.insert(name.as_str(), span);
            start += span.len;
        }
        // Every name looked up here is one keras_layout wrote for this config.
        let at = |name: String| spans[name.as_str()];
        let conv =
            |name: String| ConvOffsets { kernel: at(format!("{name}.kernel")), bias: at(format!("{name}.bias")) };
        let norm = |name: String| NormOffsets {
            gamma: at(format!("{name}.gamma")),
            beta: at(format!("{name}.beta")),
            mean: at(format!("{name}.moving_mean")),
            var: at(format!("{name}.moving_variance")),
        };
        let names: &[&str] = if config.bidirectional() { &["fwd", "bwd"] } else { &["fwd"] };
        let directions = names
            .iter()
            .map(|d| DirectionOffsets {
                input_kernel: at(format!("{d}.in.kernel")),
                input_bias: at(format!("{d}.in.bias")),
                blocks: (0..config.tabs)
                    .map(|j| BlockOffsets {
                        convs: [conv(format!("{d}.tab{j}.conv0")), conv(format!("{d}.tab{j}.conv1"))],
                        norms: [norm(format!("{d}.tab{j}.bn0")), norm(format!("{d}.tab{j}.bn1"))],
                    })
                    .collect(),
            })
            .collect();
        let fusion = config.dynamic_fusion().then(|| at("fusion.w".into()));
        Self {
            total: start,
            directions,
            fusion,
            dense_kernel: at("dense.kernel".into()),
            dense_bias: at("dense.bias".into()),
            trainable,
            entries,
        }
    }
}
