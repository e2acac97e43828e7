use burn::prelude::*;
use burn::tensor::Distribution;

/// Keras's SpatialDropout1D on [batch, channels, time]: one keep/drop draw per sample and
/// channel, shared by every time step, kept channels scaled by 1 / (1 - p). Active only while
/// training (an autodiff device), like burn's own dropout.
pub fn spatial_dropout(x: Tensor<3>, prob: f64) -> Tensor<3> {
    if prob == 0.0 || !x.device().is_autodiff() {
        return x;
    }
    let [batch, channels, _] = x.dims();
    let keep = 1.0 - prob;
    let mask = Tensor::<3>::random([batch, channels, 1], Distribution::Bernoulli(keep), &x.device());
    x * mask.mul_scalar(1.0 / keep)
}
