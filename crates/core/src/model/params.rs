//! Every tensor of the network, described once: its name in our model, its name and shape in
//! the Keras reference graph, its role, and its place in one flat vector (Keras's order). burn's
//! [`TimNet`](super::TimNet) is built from this table, the Keras import maps by it, the fused
//! training step lays out its buffers by it, and `timnet info` prints it; the parameter count is
//! its sum. Nothing else spells a weight's name.

use super::TimNetConfig;

/// What a tensor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Kernel,
    Bias,
    Gamma,
    Beta,
    /// BatchNorm's running statistics: updated by training, not by the optimiser.
    MovingMean,
    MovingVariance,
    /// The dynamic-fusion vector w.
    Fusion,
}

impl Role {
    /// Whether the optimiser updates it (Keras counts the others as non-trainable).
    pub fn trainable(self) -> bool {
        !matches!(self, Role::MovingMean | Role::MovingVariance)
    }

    fn keras_suffix(self) -> &'static str {
        match self {
            Role::Kernel => "kernel",
            Role::Bias => "bias",
            Role::Gamma => "gamma",
            Role::Beta => "beta",
            Role::MovingMean => "moving_mean",
            Role::MovingVariance => "moving_variance",
            Role::Fusion => "w",
        }
    }

    fn burn_suffix(self) -> &'static str {
        match self {
            Role::Kernel | Role::Fusion => "weight",
            Role::Bias => "bias",
            Role::Gamma => "gamma",
            Role::Beta => "beta",
            Role::MovingMean => "running_mean",
            Role::MovingVariance => "running_var",
        }
    }
}

/// A tensor's place in the flat vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub len: usize,
}

impl Span {
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end()
    }

    pub fn slice<'a>(&self, v: &'a [f32]) -> &'a [f32] {
        &v[self.range()]
    }

    pub fn slice_mut<'a>(&self, v: &'a mut [f32]) -> &'a mut [f32] {
        &mut v[self.range()]
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its path in our burn module (`forward_tabs.3.conv1.weight`).
    pub name: String,
    /// Its name in the Keras reference graph's export (`fwd.tab3.conv0.kernel`).
    pub keras: String,
    /// Its shape in Keras (convolution kernels [taps, in, out]; the fusion vector [tabs, 1]).
    pub shape: Vec<usize>,
    pub role: Role,
    /// Index into [`ParamTable::layers`].
    pub layer: usize,
    pub span: Span,
}

/// A causal convolution: kernel [taps, c_in, c_out] and bias [c_out].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conv {
    pub kernel: Span,
    pub bias: Span,
    pub taps: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub dilation: usize,
}

/// A BatchNorm: scale, shift and the running statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Norm {
    pub gamma: Span,
    pub beta: Span,
    pub mean: Span,
    pub var: Span,
}

/// A Temporal-Aware Block: [conv → BatchNorm → ReLU → dropout] × 2.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub convs: [Conv; 2],
    pub norms: [Norm; 2],
}

/// One direction: the 1x1 input convolution and its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Direction {
    /// The backward direction reads the clip reversed in time.
    pub reversed: bool,
    pub input: Conv,
    pub blocks: Vec<Block>,
}

/// The dense head: kernel [filters, classes] and bias [classes].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dense {
    pub kernel: Span,
    pub bias: Span,
    pub inputs: usize,
    pub outputs: usize,
}

/// A layer as `timnet info` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    /// Output shape, T for frames.
    pub output: String,
}

/// One row of the architecture table: a layer and its trainable parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRow {
    pub name: String,
    pub output: String,
    pub params: usize,
}

/// The whole network's tensors, in Keras's order: per direction the input convolution; per
/// block and direction two (kernel, bias, gamma, beta, moving mean, moving variance); the
/// fusion vector; the dense kernel and bias.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamTable {
    pub params: Vec<Param>,
    pub layers: Vec<Layer>,
    /// Forward, then (when bidirectional) backward.
    pub directions: Vec<Direction>,
    pub fusion: Option<Span>,
    pub head: Dense,
    /// Length of the flat vector.
    pub total: usize,
}

impl ParamTable {
    pub fn new(config: &TimNetConfig) -> Self {
        let (f, k) = (config.filters, config.kernel);
        let mut b = Builder::default();
        let sides: &[(bool, &str, &str, &str)] = if config.bidirectional() {
            &[(false, "forward", "fwd", "forward"), (true, "backward", "bwd", "backward")]
        } else {
            &[(false, "forward", "fwd", "forward")]
        };
        let mut directions: Vec<Direction> = sides
            .iter()
            .map(|&(reversed, ours, keras, words)| {
                let layer = b.layer(format!("{words} 1x1 causal conv"), format!("[T, {f}]"));
                let input = b.conv(layer, &format!("{ours}_in"), &format!("{keras}.in"), (1, config.features, f, 1));
                Direction { reversed, input, blocks: Vec::new() }
            })
            .collect();
        let kind = if config.ablations.tcn { "TCN block" } else { "TAB" };
        for j in 0..config.tabs {
            let dilation = 1 << j;
            for (direction, &(_, ours, keras, words)) in directions.iter_mut().zip(sides) {
                let layer = b.layer(format!("{words} {kind} {} (dilation {dilation})", j + 1), format!("[T, {f}]"));
                let (ours, keras) = (format!("{ours}_tabs.{j}"), format!("{keras}.tab{j}"));
                let mut sub = |c: usize| {
                    let conv = b.conv(
                        layer,
                        &format!("{ours}.conv{}", c + 1),
                        &format!("{keras}.conv{c}"),
                        (k, f, f, dilation),
                    );
                    let norm = b.norm(layer, &format!("{ours}.norm{}", c + 1), &format!("{keras}.bn{c}"), f);
                    (conv, norm)
                };
                let ((c1, n1), (c2, n2)) = (sub(0), sub(1));
                direction.blocks.push(Block { convs: [c1, c2], norms: [n1, n2] });
            }
        }
        let fusion = config.dynamic_fusion().then(|| {
            let layer = b.layer("dynamic fusion w".into(), format!("[{f}]"));
            b.push(layer, "fusion".into(), "fusion.w".into(), Role::Fusion, vec![config.tabs, 1])
        });
        let layer = b.layer("dense head".into(), format!("[{}]", config.classes));
        let head = Dense {
            kernel: b.push(layer, "head.weight".into(), "dense.kernel".into(), Role::Kernel, vec![f, config.classes]),
            bias: b.push(layer, "head.bias".into(), "dense.bias".into(), Role::Bias, vec![config.classes]),
            inputs: f,
            outputs: config.classes,
        };
        Self { total: b.at, params: b.params, layers: b.layers, directions, fusion, head }
    }

    /// The spans the optimiser updates.
    pub fn trainable(&self) -> Vec<Span> {
        self.params.iter().filter(|p| p.role.trainable()).map(|p| p.span).collect()
    }

    pub fn trainable_count(&self) -> usize {
        self.params.iter().filter(|p| p.role.trainable()).map(|p| p.span.len).sum()
    }

    /// BatchNorm running statistics, which Keras counts as (non-trainable) parameters.
    pub fn running_statistics_count(&self) -> usize {
        self.total - self.trainable_count()
    }

    /// The layers in order with their output shapes and trainable parameters.
    pub fn layer_rows(&self) -> Vec<LayerRow> {
        let mut rows: Vec<LayerRow> = self
            .layers
            .iter()
            .map(|l| LayerRow { name: l.name.clone(), output: l.output.clone(), params: 0 })
            .collect();
        for p in self.params.iter().filter(|p| p.role.trainable()) {
            rows[p.layer].params += p.span.len;
        }
        rows
    }

    /// Every BatchNorm of the network, direction by direction, block by block.
    /// Every BatchNorm, in the flat vector's (Keras's) order: block by block, forward then
    /// backward within a block.
    pub fn norms(&self) -> impl Iterator<Item = &Norm> {
        let blocks = self.directions.first().map_or(0, |d| d.blocks.len());
        (0..blocks).flat_map(move |j| self.directions.iter().flat_map(move |d| d.blocks[j].norms.iter()))
    }
}

#[derive(Default)]
struct Builder {
    params: Vec<Param>,
    layers: Vec<Layer>,
    at: usize,
}

impl Builder {
    fn layer(&mut self, name: String, output: String) -> usize {
        self.layers.push(Layer { name, output });
        self.layers.len() - 1
    }

    fn push(&mut self, layer: usize, name: String, keras: String, role: Role, shape: Vec<usize>) -> Span {
        let span = Span { start: self.at, len: shape.iter().product() };
        self.at = span.end();
        self.params.push(Param { name, keras, shape, role, layer, span });
        span
    }

    /// (taps, c_in, c_out, dilation).
    fn conv(
        &mut self,
        layer: usize,
        ours: &str,
        keras: &str,
        (taps, c_in, c_out, dilation): (usize, usize, usize, usize),
    ) -> Conv {
        let mut tensor = |role: Role, shape| {
            self.push(
                layer,
                format!("{ours}.{}", role.burn_suffix()),
                format!("{keras}.{}", role.keras_suffix()),
                role,
                shape,
            )
        };
        let kernel = tensor(Role::Kernel, vec![taps, c_in, c_out]);
        let bias = tensor(Role::Bias, vec![c_out]);
        Conv { kernel, bias, taps, c_in, c_out, dilation }
    }

    fn norm(&mut self, layer: usize, ours: &str, keras: &str, channels: usize) -> Norm {
        let mut tensor = |role: Role| {
            let name = format!("{ours}.{}", role.burn_suffix());
            self.push(layer, name, format!("{keras}.{}", role.keras_suffix()), role, vec![channels])
        };
        Norm {
            gamma: tensor(Role::Gamma),
            beta: tensor(Role::Beta),
            mean: tensor(Role::MovingMean),
            var: tensor(Role::MovingVariance),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_papers_network() {
        let table = ParamTable::new(&TimNetConfig::default());
        assert_eq!(table.trainable_count(), 104_496);
        assert_eq!(table.total, 106_992);
        assert_eq!(table.params[0].keras, "fwd.in.kernel");
        assert_eq!(table.params[0].name, "forward_in.weight");
        assert_eq!(table.params[0].shape, vec![1, 39, 39]);
        let last = table.params.last().unwrap();
        assert_eq!((last.keras.as_str(), last.shape.as_slice()), ("dense.bias", [7].as_slice()));
        // Spans tile the vector in order, with no gap.
        let mut at = 0;
        for p in &table.params {
            assert_eq!(p.span.start, at, "{}", p.keras);
            at = p.span.end();
        }
        assert_eq!(at, table.total);
        let names: std::collections::HashSet<_> = table.params.iter().map(|p| &p.keras).collect();
        assert_eq!(names.len(), table.params.len(), "Keras names are unique");
        assert_eq!(table.directions[1].blocks[7].convs[1].dilation, 128);
    }

    #[test]
    fn ablations_drop_what_they_remove() {
        use super::super::Ablations;
        let tcn = ParamTable::new(&TimNetConfig {
            ablations: Ablations { tcn: true, ..Default::default() },
            ..Default::default()
        });
        assert_eq!(tcn.directions.len(), 1);
        assert!(tcn.fusion.is_none());
        let no_df = TimNetConfig {
            ablations: Ablations { no_dynamic_fusion: true, ..Default::default() },
            ..Default::default()
        };
        let no_df = ParamTable::new(&no_df);
        assert_eq!(no_df.directions.len(), 2);
        assert!(no_df.fusion.is_none());
    }
}
