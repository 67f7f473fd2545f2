//! The 3x3, 64 -> 64 convolution that makes up most of EDSR-baseline, on a 128x128 map, by
//! each of the kernels that can run it: direct fp32, Winograd fp32, INT8 direct and INT8
//! Winograd.
//! GFLOP/s = 2 * 128 * 128 * 64 * 64 * 9 / time.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use upres_kernels::{
    FeatureMap, PackedConv, QuantizedConv, Quantizer, WinogradConv, WinogradInt8Conv, conv2d,
    conv2d_int8, conv3x3_winograd, conv3x3_winograd_int8,
};

fn conv_3x3_64(c: &mut Criterion) {
    let (h, w, ch) = (128, 128, 64);
    let values: Vec<f32> = (0..h * w * ch)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let weight: Vec<f32> = (0..ch * ch * 9)
        .map(|i| ((i * 104_729) % 1000) as f32 / 1e5)
        .collect();
    let direct = PackedConv::new(&weight, None, ch, ch, 3, 1);
    let winograd = WinogradConv::new(&weight, None, ch, ch);
    let int8 = QuantizedConv::new(&weight, None, ch, ch, 3, 1, Quantizer::from_range(0.0, 1.0));
    let int8_winograd = WinogradInt8Conv::new(&int8);
    let input = FeatureMap::from_interleaved(1, h, w, ch, &values, 1.0, 1);
    let mut group = c.benchmark_group("conv3x3_64");
    group.throughput(Throughput::Elements((2 * h * w * ch * ch * 9) as u64));
    // The f32 kernels consume their input: a copy is made outside the timed part.
    let copy = || input.clone();
    group.bench_function("direct", |b| {
        b.iter_batched(copy, |x| conv2d(x, &direct), BatchSize::LargeInput)
    });
    group.bench_function("winograd", |b| {
        b.iter_batched(
            copy,
            |x| conv3x3_winograd(x, &winograd),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("int8", |b| b.iter(|| conv2d_int8(&input, &int8)));
    group.bench_function("int8_winograd", |b| {
        b.iter(|| conv3x3_winograd_int8(&input, &int8_winograd))
    });
    group.finish();
}

/// Multiply-adds per second of this CPU's two vector units on register-resident data: an fp32
/// FMA (8 lanes) against `vpmaddwd` (16 products of 16-bit pairs, summed in pairs), each in 12
/// independent chains. They bound what Winograd fp32 and Winograd INT8 can reach.
#[cfg(target_arch = "x86_64")]
fn multiply_add_rate(c: &mut Criterion) {
    use std::arch::x86_64::*;
    const STEPS: usize = 100_000;
    #[target_feature(enable = "avx2,fma")]
    fn fma_chains() -> __m256 {
        let mut acc = [_mm256_set1_ps(1.0); 12];
        let (a, b) = (_mm256_set1_ps(0.999), _mm256_set1_ps(1e-6));
        for _ in 0..STEPS {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        acc.into_iter()
            .fold(_mm256_setzero_ps(), |s, v| _mm256_add_ps(s, v))
    }
    #[target_feature(enable = "avx2")]
    fn madd_chains() -> __m256i {
        let mut acc: [__m256i; 12] = std::array::from_fn(|i| _mm256_set1_epi32(i as i32));
        let w = _mm256_set1_epi16(3);
        for _ in 0..STEPS {
            for v in acc.iter_mut() {
                *v = _mm256_madd_epi16(*v, w);
            }
        }
        acc.into_iter()
            .fold(_mm256_setzero_si256(), |s, v| _mm256_add_epi32(s, v))
    }
    if !upres_kernels::simd::has_avx2_fma() {
        return;
    }
    let mut group = c.benchmark_group("multiply_add_rate");
    group.throughput(Throughput::Elements((STEPS * 12 * 8) as u64));
    // SAFETY (both): the CPU has AVX2 and FMA.
    group.bench_function("fma_f32", |b| b.iter(|| unsafe { fma_chains() }));
    group.throughput(Throughput::Elements((STEPS * 12 * 16) as u64));
    group.bench_function("vpmaddwd_i16", |b| b.iter(|| unsafe { madd_chains() }));
    group.finish();
}

#[cfg(not(target_arch = "x86_64"))]
fn multiply_add_rate(_: &mut Criterion) {}

criterion_group!(benches, conv_3x3_64, multiply_add_rate);
criterion_main!(benches);
