//! The 3x3, 64 -> 64 convolution that makes up most of EDSR-baseline, on a 128x128 map.
//! GFLOP/s = 2 * 128 * 128 * 64 * 64 * 9 / time.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use upres_kernels::{FeatureMap, PackedConv, conv2d};

fn conv_3x3_64(c: &mut Criterion) {
    let (h, w, ch) = (128, 128, 64);
    let values: Vec<f32> = (0..h * w * ch)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let weight: Vec<f32> = (0..ch * ch * 9)
        .map(|i| ((i * 104_729) % 1000) as f32 / 1e5)
        .collect();
    let conv = PackedConv::new(&weight, None, ch, ch, 3, 1);
    let input = FeatureMap::from_interleaved(1, h, w, ch, &values, 1.0, 1);
    let mut group = c.benchmark_group("conv3x3_64");
    group.throughput(Throughput::Elements((2 * h * w * ch * ch * 9) as u64));
    group.bench_function("128x128", |b| b.iter(|| conv2d(input.clone(), &conv)));
    group.finish();
}

criterion_group!(benches, conv_3x3_64);
criterion_main!(benches);
