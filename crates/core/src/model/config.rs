use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use super::TimNet;
use super::params::ParamTable;

/// The paper's ablations (Table A3), each a switch off the full model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ablations {
    /// A plain TCN: forward direction only, residual blocks (x + F(x)) without the sigmoid gate,
    /// and the last block's time-mean feeds the head.
    pub tcn: bool,
    /// Forward direction only ("w/o BD").
    pub no_bidirection: bool,
    /// Only the last scale g_n feeds the head ("w/o MS").
    pub no_multiscale: bool,
    /// A plain average of the g_j instead of the learned fusion ("w/o DF").
    pub no_dynamic_fusion: bool,
}

/// The network's shape; `Default` is the paper's model for 7 classes (EmoDB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimNetConfig {
    pub classes: usize,
    /// MFCC coefficients per frame.
    pub features: usize,
    /// Temporal-Aware Blocks per direction (8; 10 for IEMOCAP).
    pub tabs: usize,
    pub filters: usize,
    pub kernel: usize,
    /// Spatial dropout rate inside each block.
    pub dropout: f64,
    pub ablations: Ablations,
}

impl Default for TimNetConfig {
    fn default() -> Self {
        Self {
            classes: 7,
            features: 39,
            tabs: 8,
            filters: 39,
            kernel: 2,
            dropout: 0.1,
            ablations: Ablations::default(),
        }
    }
}

impl TimNetConfig {
    pub fn with_classes(mut self, classes: usize) -> Self {
        self.classes = classes;
        self
    }

    pub fn bidirectional(&self) -> bool {
        !(self.ablations.tcn || self.ablations.no_bidirection)
    }

    /// Whether the learned fusion vector w exists.
    pub fn dynamic_fusion(&self) -> bool {
        !(self.ablations.tcn || self.ablations.no_multiscale || self.ablations.no_dynamic_fusion)
    }

    /// The fixed fusion weights of the ablations without a learned w: all weight on the last
    /// block (TCN, w/o MS) or a plain average (w/o DF). `None` when w is learned.
    pub fn fixed_fusion(&self) -> Option<Vec<f32>> {
        if self.dynamic_fusion() {
            return None;
        }
        let n = self.tabs;
        let a = &self.ablations;
        Some(if a.tcn || a.no_multiscale {
            (0..n).map(|j| if j + 1 == n { 1.0 } else { 0.0 }).collect()
        } else {
            vec![1.0 / n as f32; n]
        })
    }

    /// Checks that the numbers describe a buildable network.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("classes", self.classes),
            ("features", self.features),
            ("tabs", self.tabs),
            ("filters", self.filters),
            ("kernel", self.kernel),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        // Far beyond any TIM-Net, and small enough that the parameter count cannot overflow: a
        // sidecar from the network must not make the page allocate without bound.
        let bounds = [
            ("classes", self.classes, 1024),
            ("features", self.features, 1024),
            ("filters", self.filters, 1024),
            ("kernel", self.kernel, 64),
        ];
        for (name, value, most) in bounds {
            if value > most {
                return Err(format!("{name} is {value}; this program builds at most {most}"));
            }
        }
        if self.tabs > 16 {
            return Err(format!(
                "{} blocks give a dilation of 2^{}; at most 16 are supported",
                self.tabs,
                self.tabs - 1
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout must be in [0, 1), not {}", self.dropout));
        }
        Ok(())
    }

    /// A freshly initialised model (Keras's initialisers) on `device`.
    pub fn init(&self, device: &Device) -> TimNet {
        TimNet::new(self, device)
    }

    /// Every tensor of the network: names, shapes, roles and places ([`ParamTable`]).
    pub fn params(&self) -> ParamTable {
        ParamTable::new(self)
    }

    /// Trainable parameters, from the table.
    pub fn trainable_parameters(&self) -> usize {
        self.params().trainable_count()
    }

    /// BatchNorm running statistics, which Keras counts as (non-trainable) parameters.
    pub fn running_statistics(&self) -> usize {
        self.params().running_statistics_count()
    }
}
