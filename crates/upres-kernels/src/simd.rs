//! Run-time choice of instruction set.

/// Whether this CPU has AVX2 and FMA (checked once; the result is cached by std).
#[cfg(target_arch = "x86_64")]
pub fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Defines a function twice, compiled for AVX2 + FMA and for the baseline, and calls the
/// first when the CPU has those features: plain loops in the body are then vectorised 8 wide
/// with fused multiply-adds. Helpers it calls must be `#[inline(always)]` to share the build.
macro_rules! simd_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? $body
                if $crate::simd::has_avx2_fma() {
                    // SAFETY: the CPU has the features `avx2` was compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body
        }
    };
}
pub(crate) use simd_fn;

/// This CPU's fp32 peak in GFLOP/s over the threads of rayon's pool, measured: each thread
/// runs 12 independent chains of fused multiply-adds on registers (on AVX2 CPUs; elsewhere
/// the portable code's rate, which is what upres gets there), best of 5 rounds of about
/// 0.1 s, since a shared machine's clock and neighbours vary.
pub fn peak_gflops() -> f64 {
    (0..5)
        .map(|_| rayon::broadcast(|_| thread_peak()).iter().sum::<f64>())
        .fold(0.0, f64::max)
}

const PEAK_STEPS: usize = 10_000_000;

fn thread_peak() -> f64 {
    let start = std::time::Instant::now();
    let lanes = fma_chains(std::hint::black_box(0.999_99), std::hint::black_box(1e-6));
    (PEAK_STEPS * lanes * 2) as f64 / start.elapsed().as_secs_f64() / 1e9
}

simd_fn! {
    /// `PEAK_STEPS` rounds of 96 independent `v = v * a + b`; returns 96.
    fn fma_chains(a: f32, b: f32) -> usize {
        let mut acc = [[1.0f32; 8]; 12];
        for _ in 0..PEAK_STEPS {
            for chain in acc.iter_mut() {
                for v in chain.iter_mut() {
                    *v = v.mul_add(a, b);
                }
            }
        }
        std::hint::black_box(acc);
        12 * 8
    }
}
