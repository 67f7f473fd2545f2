//! The 3x3, 64 -> 64 convolution that makes up most of EDSR-baseline, on a 128x128 map, by
//! each of the kernels that can run it: direct fp32, Winograd fp32 and INT8.
//! GFLOP/s = 2 * 128 * 128 * 64 * 64 * 9 / time.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use upres_kernels::{
    FeatureMap, PackedConv, QuantizedConv, Quantizer, WinogradConv, conv2d, conv2d_int8,
    conv3x3_winograd,
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
    group.finish();
}

criterion_group!(benches, conv_3x3_64);
criterion_main!(benches);
