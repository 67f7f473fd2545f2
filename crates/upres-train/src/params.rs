//! Parameter bookkeeping for training: stable ids and an exponential moving average.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;

/// Gives every float parameter an id derived from its path in the module tree.
///
/// burn keys optimizer state by parameter id, and fresh modules get random ids; with ids from
/// paths, the state saved by one process applies to the same model built by another (resume).
pub fn with_path_ids<M: Module>(module: M) -> M {
    module.map(&mut PathIds { path: Vec::new() })
}

/// [`with_path_ids`] for a second trained module (a discriminator), its paths under `prefix`
/// so that no id equals one of the first module's.
pub fn with_prefixed_path_ids<M: Module>(module: M, prefix: &str) -> M {
    module.map(&mut PathIds {
        path: vec![prefix.to_string()],
    })
}

struct PathIds {
    path: Vec<String>,
}

impl ModuleMapper for PathIds {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (_, value, mapper) = param.consume();
        Param::from_mapped_value(ParamId::from(fnv1a(&self.path.join("."))), value, mapper)
    }
}

/// FNV-1a: a fixed hash, unlike std's, which is randomly seeded per process.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// An exponential moving average of a model's weights (`shadow = decay * shadow + (1 - decay)
/// * weights` after every step), which evaluates better than the raw weights late in training.
pub struct Ema<M> {
    decay: f32,
    shadow: M,
}

impl<M: Module> Ema<M> {
    /// Starts the average at `model`'s current weights (a copy off the autodiff graph).
    pub fn new(decay: f32, model: &M) -> Self {
        Self {
            decay,
            shadow: model.valid(),
        }
    }

    /// Continues an average saved earlier.
    pub fn resume(decay: f32, shadow: M) -> Self {
        Self { decay, shadow }
    }

    /// Folds `model`'s current weights into the average.
    pub fn update(&mut self, model: &M) {
        let mut current = Collect(HashMap::new());
        model.valid().visit(&mut current);
        let mut blend = Blend {
            decay: self.decay,
            current: current.0,
        };
        self.shadow = self.shadow.clone().map(&mut blend);
    }

    /// The averaged weights.
    pub fn model(&self) -> &M {
        &self.shadow
    }
}

struct Collect(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.insert(param.id, param.val().flatten(0, D - 1));
    }
}

struct Blend {
    decay: f32,
    current: HashMap<ParamId, Tensor<1>>,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(current) = self.current.remove(&param.id) else {
            return param;
        };
        let decay = self.decay;
        param.map(|shadow| {
            let shape = shadow.shape();
            shadow.mul_scalar(decay) + current.reshape(shape).mul_scalar(1.0 - decay)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    fn ids(module: &Linear) -> Vec<ParamId> {
        let mut ids = vec![module.weight.id];
        ids.extend(module.bias.as_ref().map(|b| b.id));
        ids
    }

    #[test]
    fn path_ids_are_the_same_for_every_build() {
        let device = Device::flex();
        let a = with_path_ids(LinearConfig::new(3, 2).init(&device));
        let b = with_path_ids(LinearConfig::new(3, 2).init(&device));
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a)[0], ids(&a)[1]);
    }

    #[test]
    fn ema_moves_towards_the_weights_by_one_minus_decay() {
        let device = Device::flex();
        let model = with_path_ids(LinearConfig::new(2, 1).init(&device));
        let mut ema = Ema::new(0.9, &model);
        let before = model.weight.val().into_data().try_to_vec::<f32>().unwrap();
        let moved = model.clone().map(&mut Blend {
            decay: 0.0,
            current: HashMap::from([(
                model.weight.id,
                Tensor::<1>::from_floats([1.0, 1.0], &device),
            )]),
        });
        ema.update(&moved);
        let after = ema
            .model()
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (b, a) in before.iter().zip(&after) {
            assert!((a - (0.9 * b + 0.1)).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
