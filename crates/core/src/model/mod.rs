//! TIM-Net (Ye et al., ICASSP 2023), written once on burn's device API.
//!
//! The input is an MFCC matrix [batch, frames, coefficients]. Each direction (the clip and its
//! time reversal) goes through a 1x1 causal convolution and `tabs` Temporal-Aware Blocks whose
//! dilation doubles block by block ([`tab`]). After block j, the time-mean of both directions
//! is one scale's summary g_j; a learned vector w fuses the scales (Σ w_j g_j), and a dense layer
//! gives the class logits. [`TimNet::inspect`] also returns what the page draws: the gates
//! (temporal attention) of every block, the g_j and w. Every tensor is described once, in
//! [`params`].

mod config;
mod keras;
pub mod params;
mod spatial_dropout;
mod tab;
mod timnet;

pub use config::{Ablations, TimNetConfig};
pub use keras::{KerasImportError, KerasWeights};
pub use params::{LayerRow, ParamTable};
pub use tab::{BlockMasks, Tab, batch_norm};
pub use timnet::{DropoutMasks, Inspection, TimNet};
