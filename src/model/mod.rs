//! TIM-Net (Ye et al., ICASSP 2023), written once on burn's device API.
//!
//! The input is an MFCC matrix [batch, frames, coefficients]. Each direction (the clip and its
//! time reversal) goes through a 1x1 causal convolution and `tabs` Temporal-Aware Blocks whose
//! dilation doubles block by block ([`tab`]). After block j, the time-mean of both directions
//! is one scale's summary g_j; a learned vector w fuses the scales (Σ w_j g_j), and a dense layer
//! gives the class logits. [`TimNet::inspect`] also returns what the page draws: the gates
//! (temporal attention) of every block, the g_j and w.

mod config;
mod keras;
mod spatial_dropout;
mod tab;
mod timnet;

pub use config::{Ablations, LayerRow, TimNetConfig};
pub use keras::{KerasImportError, KerasWeights, keras_layout};
pub use tab::Tab;
pub use timnet::{Inspection, TimNet};
