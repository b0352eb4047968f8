//! Adam on a flat parameter vector, as burn's `AdamConfig::new()` with weight decay computes
//! it (beta 0.9 / 0.999, epsilon 1e-5, the decay added to the gradient, burn's form of the
//! bias correction), so both training paths follow the same rule.

#[derive(Clone, Debug)]
pub struct Adam {
    weight_decay: f32,
    moment_1: Vec<f32>,
    moment_2: Vec<f32>,
    time: i32,
}

const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;
const EPSILON: f32 = 1e-5;

impl Adam {
    pub fn new(params: usize, weight_decay: f32) -> Self {
        Self { weight_decay, moment_1: vec![0.0; params], moment_2: vec![0.0; params], time: 0 }
    }

    /// One step of `params` down `grads` at learning rate `lr`.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f64) {
        assert_eq!((params.len(), grads.len()), (self.moment_1.len(), self.moment_1.len()));
        self.time += 1;
        let correction_2 = (1.0 - BETA_2.powi(self.time)).sqrt();
        let factor = correction_2 / (1.0 - BETA_1.powi(self.time));
        let epsilon = EPSILON * correction_2;
        let lr = lr as f32;
        for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(&mut self.moment_1).zip(&mut self.moment_2) {
            let g = g + self.weight_decay * *p;
            *m = *m * BETA_1 + g * (1.0 - BETA_1);
            *v = *v * BETA_2 + g * g * (1.0 - BETA_2);
            *p -= lr * (*m * factor / (v.sqrt() + epsilon));
        }
    }
}
