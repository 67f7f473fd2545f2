//! How far an output pixel of a network looks into its input: the context a tile needs so
//! that tiled inference equals whole-image inference.

use burn::store::ModuleSnapshot;

use crate::arch::SrNetwork;
use crate::registry::SrModel;

impl SrModel {
    /// An upper bound of the receptive-field radius, in the model's input pixels, or `None`
    /// for networks with global pooling (RCAN's channel attention sees the whole input).
    ///
    /// Every convolution of a feed-forward network adds at most half its kernel to any path,
    /// so the sum over all of them bounds the longest path; convolutions at the output
    /// resolution are counted as if they were at the input resolution, which only
    /// overestimates. Read from the weight shapes, so it follows the one definition of each
    /// architecture.
    pub fn receptive_radius(&self) -> Option<usize> {
        let convs: usize = self
            .network
            .collect(None, None, true)
            .iter()
            .filter_map(|t| {
                let shape = t.shape.to_vec();
                (shape.len() == 4).then(|| shape[2].max(shape[3]) / 2)
            })
            .sum();
        match &self.network {
            SrNetwork::Rcan(_) => None,
            SrNetwork::UNetSr(net) => Some(net.receptive_radius()),
            // The input is pixel-unshuffled by 2 first: one feature pixel spans two inputs.
            SrNetwork::RrdbNet(net) if net.unshuffle.is_some() => Some(2 * (convs + 1)),
            // The bilinear skip of the input reaches one pixel.
            SrNetwork::MsrResNet(_) => Some(convs + 1),
            // The final bicubic resize reaches two output pixels, under one input pixel.
            SrNetwork::SrVgg(net) if net.scale != net.shuffle.upscale_factor => Some(convs + 1),
            _ => Some(convs),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::registry::build;
    use burn::tensor::{Device, Tensor, TensorData};

    /// The output change when one input pixel at distance `d` from the centre changes.
    fn reach(name: &str, scale: usize, size: usize, d: usize) -> f32 {
        let device = Device::flex();
        let model = build(name, scale, &device).unwrap();
        let base: Vec<f32> = (0..3 * size * size)
            .map(|i| ((i * 7919) % 97) as f32 / 97.0)
            .collect();
        let mut moved = base.clone();
        let c = size / 2;
        for ch in 0..3 {
            moved[ch * size * size + c * size + c + d] += 0.5;
        }
        let run = |v: Vec<f32>| {
            let x = Tensor::<4>::from_data(TensorData::new(v, [1, 3, size, size]), &device);
            model
                .forward(x)
                .unwrap()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap()
        };
        let (a, b) = (run(base), run(moved));
        // The output pixel above the centre's input pixel.
        let ow = size * scale;
        let o = (c * scale) * ow + c * scale;
        (0..3)
            .map(|ch| (a[ch * ow * ow + o] - b[ch * ow * ow + o]).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn espcn_reach_ends_at_its_bound() {
        let model = build("espcn", 3, &Device::flex()).unwrap();
        let r = model.receptive_radius().unwrap();
        assert_eq!(r, 4, "5x5 + 3x3 + 3x3");
        assert!(
            reach("espcn", 3, 21, r) > 0.0,
            "a pixel at the bound still matters"
        );
        assert_eq!(
            reach("espcn", 3, 21, r + 1),
            0.0,
            "a pixel beyond it does not"
        );
    }

    #[test]
    fn unet_bound_covers_its_coarse_levels() {
        let model = build("unet-sr-y", 2, &Device::flex()).unwrap();
        let r = model.receptive_radius().unwrap();
        assert_eq!(r, 31, "3 + (4 x 2 + 2) + (3 x 4 + 6)");
        // Luma input: the reach test perturbs three channels; build an RGB twin.
        let rgb = build("unet-sr", 2, &Device::flex()).unwrap();
        assert_eq!(rgb.receptive_radius(), Some(r));
        assert_eq!(reach("unet-sr", 2, 80, r + 1), 0.0, "beyond the bound");
        assert!(
            (r - 12..=r).any(|d| reach("unet-sr", 2, 80, d) > 0.0),
            "the bound is not loose by more than the block slack"
        );
    }

    #[test]
    fn edsr_baseline_bound_covers_its_depth() {
        let model = build("edsr-baseline", 4, &Device::flex()).unwrap();
        // head + 16 blocks x 2 + body conv + 2 upsampler stages + tail.
        assert_eq!(model.receptive_radius(), Some(1 + 32 + 1 + 2 + 1));
        assert_eq!(
            build("rcan", 4, &Device::flex())
                .unwrap()
                .receptive_radius(),
            None
        );
    }
}
