//! MATLAB-bicubic downscaling of a 12-megapixel RGB photo: the cost of making LR inputs on the
//! fly during training and evaluation.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use upres_image::resize::downscale_bicubic;
use upres_image::{Depth, Image, Layout};

fn photo(width: usize, height: usize) -> Image {
    // Smooth gradients plus a deterministic texture, so no branch is data-trivial.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data = (0..width * height * 3)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let p = i / 3;
            let (x, y) = (p % width, p / width);
            ((x + y) % 200) as f32 + (state % 56) as f32
        })
        .collect();
    Image::new(width, height, Layout::Rgb, Depth::U8, data).expect("shape")
}

fn bench_downscale(c: &mut Criterion) {
    let image = photo(4000, 3000);
    let mut group = c.benchmark_group("matlab_bicubic_downscale_4000x3000_rgb");
    group.sample_size(10);
    for scale in [2.0, 3.0, 4.0] {
        group.bench_function(format!("x{scale}"), |b| {
            b.iter(|| downscale_bicubic(black_box(&image), scale).expect("resize"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_downscale);
criterion_main!(benches);
