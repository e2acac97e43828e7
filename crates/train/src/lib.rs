//! Training and evaluating TIM-Net, natively: corpus readers ([`corpus`]), features of whole
//! corpora ([`data`]), splits ([`folds`]), the loop ([`fit`]) over the fused CPU step
//! ([`fused`]) or burn's autodiff, whole runs with checkpoints ([`run`]), reports and figures
//! ([`report`], [`compare`]), cross-corpus scoring ([`evaluate`]) and personalisation measured
//! on unseen speakers ([`adaptation`]).

pub mod adaptation;
pub mod augment;
pub mod compare;
pub mod corpus;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod fit;
pub mod folds;
pub mod fused;
pub mod gpu;
pub mod metrics;
pub mod parallel;
pub mod report;
pub mod run;

pub use error::{Result, TrainError};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Mix several numbers into one seed (SplitMix64 steps), so that each (seed, fold, epoch, step)
/// has its own stream.
pub fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for &p in parts {
        h ^= p.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_add(h << 6).wrapping_add(h >> 2);
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
    }
    h
}

/// A reproducible shuffle (ChaCha8, the same on every platform).
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    items.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
}
