//! Matrix products where every output row is narrow (TIM-Net's 39 channels), with AVX2 and FMA
//! where the CPU has them. gemm packs both operands into blocks made for large products; here
//! one operand is a 39 x 39 kernel that fits in L1, so packing is most of gemm's work. Two
//! shapes cover the whole fused step:
//!
//! - rows: dst[M, N] (+)= a[M, K] · b[K, N], `a` with contiguous rows (the forward pass and the
//!   input gradient), two rows of `a` at a time against `b` packed once;
//! - columns: dst[P, N] (+)= a[P, M] · b[M, N] with `a` the transpose of a row-major [M, P]
//!   matrix (the kernel gradient, a sum over every frame), two rows of dst at a time while
//!   `b` streams through.
//!
//! Each returns `false` when its shape or the CPU does not qualify, and the caller uses gemm.

use super::ops::View;

/// Output columns handled: five 8-lane vectors.
const WIDTH: usize = 40;
const LANES: usize = 8;
const VECTORS: usize = WIDTH / LANES;

/// Whether this CPU runs the AVX2 + FMA kernels (checked once).
#[cfg(target_arch = "x86_64")]
fn available() -> bool {
    use std::sync::OnceLock;
    static AVX2_FMA: OnceLock<bool> = OnceLock::new();
    *AVX2_FMA.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

/// dst (row-major, a.rows x b.cols) = a·b, or += when `accumulate`, if the shapes qualify.
pub fn matmul(dst: &mut [f32], a: View, b: View, accumulate: bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if !available() || b.cols > WIDTH || b.cols == 0 || a.rows == 0 {
            return false;
        }
        if a.col_stride == 1 && a.cols <= 4 * WIDTH {
            // SAFETY: the CPU has AVX2 and FMA (checked above); the caller checked the shapes.
            unsafe { x86::rows(dst, a, b, accumulate) };
            return true;
        }
        if a.row_stride == 1 && b.col_stride == 1 {
            // SAFETY: as above.
            unsafe { x86::columns(dst, a, b, accumulate) };
            return true;
        }
    }
    let _ = (dst, a, b, accumulate);
    false
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{LANES, VECTORS, View, WIDTH};

    /// Lanes of the last vector that hold real columns: all ones for lanes < `cols % 8`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn tail_mask(cols: usize) -> __m256i {
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(cols as i32), lanes)
    }

    /// Load `n` (1..=WIDTH) floats starting at `p` into five vectors, zero beyond `n`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn load_row(p: *const f32, n: usize) -> [__m256; VECTORS] {
        let mut v = [_mm256_setzero_ps(); VECTORS];
        for (j, v) in v.iter_mut().enumerate() {
            let start = j * LANES;
            if start + LANES <= n {
                *v = unsafe { _mm256_loadu_ps(p.add(start)) };
            } else if start < n {
                *v = unsafe { _mm256_maskload_ps(p.add(start), tail_mask(n - start)) };
            }
        }
        v
    }

    /// Store the first `n` lanes of five vectors at `p`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn store_row(p: *mut f32, n: usize, v: &[__m256; VECTORS]) {
        for (j, v) in v.iter().enumerate() {
            let start = j * LANES;
            if start + LANES <= n {
                unsafe { _mm256_storeu_ps(p.add(start), *v) };
            } else if start < n {
                unsafe { _mm256_maskstore_ps(p.add(start), tail_mask(n - start), *v) };
            }
        }
    }

    /// Ten accumulators, two rows of five vectors, as named locals so that they stay in
    /// registers: `$x0`/`$x1` broadcast against the five vectors `$w` yields.
    macro_rules! fma_pair {
        ($c0:ident, $c1:ident, $x0:expr, $x1:expr, $w:expr) => {
            for j in 0..VECTORS {
                let w = $w(j);
                $c0[j] = _mm256_fmadd_ps($x0, w, $c0[j]);
                $c1[j] = _mm256_fmadd_ps($x1, w, $c1[j]);
            }
        };
    }

    /// dst[M, N] (+)= a[M, K] · b[K, N] with a's rows contiguous and N <= WIDTH.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn rows(dst: &mut [f32], a: View, b: View, accumulate: bool) {
        let (m, k, n) = (a.rows, a.cols, b.cols);
        // b packed into rows of WIDTH floats, zero past N: the inner loop reads whole vectors.
        let mut packed = vec![0.0f32; k * WIDTH];
        for kk in 0..k {
            for j in 0..n {
                packed[kk * WIDTH + j] = b.at(kk, j);
            }
        }
        let bp = packed.as_ptr();
        let ap = a.data.as_ptr();
        let dp = dst.as_mut_ptr();
        for r in (0..m).step_by(2) {
            // An odd last row runs as its own pair and only its first half is stored.
            let r1 = if r + 1 < m { r + 1 } else { r };
            let (a0, a1) = unsafe { (ap.add(r * a.row_stride), ap.add(r1 * a.row_stride)) };
            let (d0, d1) = unsafe { (dp.add(r * n), dp.add(r1 * n)) };
            let (mut c0, mut c1) = if accumulate {
                unsafe { (load_row(d0, n), load_row(d1, n)) }
            } else {
                ([_mm256_setzero_ps(); VECTORS], [_mm256_setzero_ps(); VECTORS])
            };
            for kk in 0..k {
                let (x0, x1) = unsafe { (_mm256_broadcast_ss(&*a0.add(kk)), _mm256_broadcast_ss(&*a1.add(kk))) };
                let w = unsafe { bp.add(kk * WIDTH) };
                fma_pair!(c0, c1, x0, x1, |j: usize| unsafe { _mm256_loadu_ps(w.add(j * LANES)) });
            }
            unsafe {
                store_row(d1, n, &c1);
                store_row(d0, n, &c0);
            }
        }
    }

    /// dst[P, N] (+)= a[P, M] · b[M, N] where a[i, m] = x[m * a.col_stride + i] (the transpose
    /// of a row-major matrix) and b's rows are contiguous, N <= WIDTH.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn columns(dst: &mut [f32], a: View, b: View, accumulate: bool) {
        let (p, m, n) = (a.rows, a.cols, b.cols);
        // Rows of b in blocks that stay in L1 while every pair of dst rows passes over them.
        const BLOCK: usize = 128;
        let mut acc = vec![[_mm256_setzero_ps(); VECTORS]; p];
        if accumulate {
            for (i, acc) in acc.iter_mut().enumerate() {
                *acc = unsafe { load_row(dst.as_ptr().add(i * n), n) };
            }
        }
        let (xp, bp) = (a.data.as_ptr(), b.data.as_ptr());
        // Rows of b that can be read as five whole vectors without running off the slice (the
        // lanes past N then hold the next row's values, which only reach lanes never stored).
        let whole = if b.data.len() >= WIDTH { ((b.data.len() - WIDTH) / b.row_stride + 1).min(m) } else { 0 };
        for start in (0..m).step_by(BLOCK) {
            let end = (start + BLOCK).min(m);
            for i in (0..p).step_by(2) {
                let i1 = if i + 1 < p { i + 1 } else { i };
                let (mut c0, mut c1) = (acc[i], acc[i1]);
                for row in start..end.min(whole) {
                    let x = unsafe { xp.add(row * a.col_stride) };
                    let (x0, x1) = unsafe { (_mm256_broadcast_ss(&*x.add(i)), _mm256_broadcast_ss(&*x.add(i1))) };
                    let brow = unsafe { bp.add(row * b.row_stride) };
                    fma_pair!(c0, c1, x0, x1, |j: usize| unsafe { _mm256_loadu_ps(brow.add(j * LANES)) });
                }
                for row in start.max(whole)..end {
                    let x = unsafe { xp.add(row * a.col_stride) };
                    let (x0, x1) = unsafe { (_mm256_broadcast_ss(&*x.add(i)), _mm256_broadcast_ss(&*x.add(i1))) };
                    let brow = unsafe { load_row(bp.add(row * b.row_stride), n) };
                    fma_pair!(c0, c1, x0, x1, |j: usize| brow[j]);
                }
                acc[i1] = c1;
                acc[i] = c0;
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            unsafe { store_row(dst.as_mut_ptr().add(i * n), n, acc) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain triple loop in f64: the reference.
    fn reference(a: View, b: View) -> Vec<f32> {
        let mut out = vec![0.0f32; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                out[i * b.cols + j] = (0..a.cols).map(|k| a.at(i, k) as f64 * b.at(k, j) as f64).sum::<f64>() as f32;
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32).map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) >> 9) as f32 / (1 << 23) as f32 - 0.5).collect()
    }

    #[test]
    fn both_shapes_match_a_plain_product_with_and_without_accumulation() {
        // Odd row counts and widths below, at and between vector multiples.
        for (m, k, n) in [(1, 1, 1), (7, 39, 39), (377, 39, 39), (12, 5, 8), (9, 40, 40), (33, 17, 23)] {
            let x = values(m * k, 1);
            let w = values(k * n, 2);
            let (a, b) = (View::new(&x, m, k), View::new(&w, k, n));
            let start = values(m * n, 3);
            for accumulate in [false, true] {
                let mut dst = start.clone();
                if !matmul(&mut dst, a, b, accumulate) {
                    return; // this CPU has no AVX2/FMA: gemm runs instead, nothing to compare
                }
                let mut expected = reference(a, b);
                if accumulate {
                    expected.iter_mut().zip(&start).for_each(|(e, s)| *e += s);
                }
                let worst = dst.iter().zip(&expected).map(|(d, e)| (d - e).abs()).fold(0.0, f32::max);
                assert!(worst < 1e-5, "rows {m}x{k}x{n} accumulate={accumulate}: {worst}");
            }
            // columns: dst[k, n] = x^T[k, m] · y[m, n]
            let y = values(m * n, 4);
            let (xt, yv) = (View::new(&x, m, k).t(), View::new(&y, m, n));
            for accumulate in [false, true] {
                let start = values(k * n, 5);
                let mut dst = start.clone();
                assert!(matmul(&mut dst, xt, yv, accumulate), "the columns shape qualifies");
                let mut expected = reference(xt, yv);
                if accumulate {
                    expected.iter_mut().zip(&start).for_each(|(e, s)| *e += s);
                }
                let worst = dst.iter().zip(&expected).map(|(d, e)| (d - e).abs()).fold(0.0, f32::max);
                assert!(worst < 1e-4, "columns {k}x{m}x{n} accumulate={accumulate}: {worst}");
            }
        }
    }

    #[test]
    fn wide_outputs_are_left_to_gemm() {
        let x = values(4 * 3, 1);
        let w = values(3 * 41, 2);
        let mut dst = vec![0.0; 4 * 41];
        assert!(!matmul(&mut dst, View::new(&x, 4, 3), View::new(&w, 3, 41), false));
    }
}
