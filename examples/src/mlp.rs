//! A multilayer perceptron in plain nalgebra: `tanh` hidden layers, a linear
//! output layer (the logits), hand-written backpropagation, and Adam.
//!
//! Batches are matrices with one sample per column, the layout `loss!`'s
//! generated functions read from nalgebra matrices (a `C × N` matrix of logits
//! is `N` rows of width `C`).

use nalgebra::{DMatrix, DVector};

use crate::rng::SplitMix64;

/// One affine layer: `z = W a + b`.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Weights, `outputs × inputs`.
    pub w: DMatrix<f64>,
    /// Biases, one per output.
    pub b: DVector<f64>,
}

/// The MLP: `tanh` after every layer but the last.
///
/// ```
/// use examples::{mlp::Mlp, rng::SplitMix64};
/// let net = Mlp::new(&[4, 8, 3], &mut SplitMix64::new(0));
/// assert_eq!(net.num_params(), 4 * 8 + 8 + 8 * 3 + 3);
/// let x = nalgebra::DMatrix::from_element(4, 5, 0.5); // 5 samples
/// assert_eq!(net.logits(&x).shape(), (3, 5));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<Layer>,
}

/// What the forward pass keeps for the backward pass.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The input of each layer (the batch, then each hidden activation).
    pub inputs: Vec<DMatrix<f64>>,
    /// The output of the last layer: the logits, `classes × n`.
    pub logits: DMatrix<f64>,
}

/// The gradient of a loss with respect to every parameter, shaped as the
/// layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradient {
    /// `(dW, db)` of each layer.
    pub layers: Vec<(DMatrix<f64>, DVector<f64>)>,
}

impl Gradient {
    /// The gradient flattened in the order of [`Mlp::params`].
    pub fn to_vec(&self) -> Vec<f64> {
        self.layers
            .iter()
            .flat_map(|(w, b)| w.iter().chain(b.iter()).copied())
            .collect()
    }
}

impl Mlp {
    /// A network with the given layer sizes (input first, classes last),
    /// weights drawn from `N(0, 1/fan_in)` (LeCun), biases zero.
    pub fn new(sizes: &[usize], rng: &mut SplitMix64) -> Mlp {
        assert!(sizes.len() >= 2, "an MLP needs an input and an output size");
        let layers = sizes
            .windows(2)
            .map(|io| {
                let (inp, out) = (io[0], io[1]);
                let scale = (1.0 / inp as f64).sqrt();
                Layer {
                    w: DMatrix::from_fn(out, inp, |_, _| scale * rng.normal()),
                    b: DVector::zeros(out),
                }
            })
            .collect();
        Mlp { layers }
    }

    /// The layer sizes, input first.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.layers[0].w.ncols()];
        s.extend(self.layers.iter().map(|l| l.w.nrows()));
        s
    }

    /// The number of weights and biases.
    pub fn num_params(&self) -> usize {
        self.layers.iter().map(|l| l.w.len() + l.b.len()).sum()
    }

    /// Every parameter, flattened: layer by layer, the weights (column-major)
    /// then the biases.
    ///
    /// ```
    /// use examples::{mlp::Mlp, rng::SplitMix64};
    /// let mut net = Mlp::new(&[3, 2], &mut SplitMix64::new(0));
    /// let mut p = net.params();
    /// p[0] = 7.0;
    /// net.set_params(&p);
    /// assert_eq!(net.layers[0].w[(0, 0)], 7.0);
    /// ```
    pub fn params(&self) -> Vec<f64> {
        self.layers
            .iter()
            .flat_map(|l| l.w.iter().chain(l.b.iter()).copied())
            .collect()
    }

    /// Sets every parameter from a slice in the order of [`Mlp::params`].
    pub fn set_params(&mut self, params: &[f64]) {
        assert_eq!(
            params.len(),
            self.num_params(),
            "wrong number of parameters"
        );
        let mut src = params.iter();
        for l in &mut self.layers {
            for (dst, s) in l.w.iter_mut().chain(l.b.iter_mut()).zip(&mut src) {
                *dst = *s;
            }
        }
    }

    /// The forward pass on a batch (`inputs × n`), keeping what
    /// [`Mlp::backward`] needs.
    pub fn forward(&self, x: &DMatrix<f64>) -> Trace {
        let mut inputs = Vec::with_capacity(self.layers.len());
        let mut a = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            let mut z = &l.w * &a;
            for mut col in z.column_iter_mut() {
                col += &l.b;
            }
            inputs.push(a);
            if i + 1 == self.layers.len() {
                return Trace { inputs, logits: z };
            }
            a = z.map(f64::tanh);
        }
        unreachable!("an MLP has at least one layer")
    }

    /// The logits of a batch, `classes × n`.
    pub fn logits(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        self.forward(x).logits
    }

    /// Backpropagation: the gradient with respect to every parameter, given
    /// the trace of the forward pass and the gradient of the loss with
    /// respect to the logits (`classes × n`, as the loss's generated
    /// `value_and_grad` writes it).
    ///
    /// For `z = W a + b` and `a' = tanh(z)`: `dW = dz aᵀ`, `db = Σ_columns dz`,
    /// `da = Wᵀ dz`, and the previous layer's `dz = da ∘ (1 - a²)`.
    pub fn backward(&self, trace: &Trace, dlogits: &DMatrix<f64>) -> Gradient {
        let mut layers = Vec::with_capacity(self.layers.len());
        let mut dz = dlogits.clone();
        for (i, l) in self.layers.iter().enumerate().rev() {
            let a = &trace.inputs[i];
            let dw = &dz * a.transpose();
            let db = dz.column_sum();
            if i > 0 {
                let da = l.w.transpose() * &dz;
                dz = da.zip_map(a, |g, act| g * (1.0 - act * act));
            }
            layers.push((dw, db));
        }
        layers.reverse();
        Gradient { layers }
    }

    /// The fraction of samples whose largest logit is at their label.
    pub fn accuracy(&self, x: &DMatrix<f64>, labels: &[usize]) -> f64 {
        if labels.is_empty() {
            return f64::NAN;
        }
        let logits = self.logits(x);
        let right = logits
            .column_iter()
            .zip(labels)
            .filter(|(col, &y)| col.argmax().0 == y)
            .count();
        right as f64 / labels.len() as f64
    }
}

/// The Adam optimiser (Kingma and Ba), over the flattened parameters.
///
/// ```
/// use examples::mlp::{Adam, Mlp};
/// use examples::rng::SplitMix64;
/// let mut net = Mlp::new(&[2, 1], &mut SplitMix64::new(0));
/// let mut adam = Adam::new(&net, 0.1);
/// let before = net.params();
/// let x = nalgebra::DMatrix::from_element(2, 1, 1.0);
/// let t = net.forward(&x);
/// let g = net.backward(&t, &nalgebra::DMatrix::from_element(1, 1, 1.0));
/// adam.step(&mut net, &g);
/// // Each parameter moves by about the learning rate, against its gradient.
/// assert!(net.params().iter().zip(&before).all(|(a, b)| (a - b + 0.1).abs() < 1e-6));
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    /// Step size.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    /// Adam for `model` with step size `lr` and the usual `β = (0.9, 0.999)`.
    pub fn new(model: &Mlp, lr: f64) -> Adam {
        let n = model.num_params();
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    /// One update of `model` against `grad`.
    pub fn step(&mut self, model: &mut Mlp, grad: &Gradient) {
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t);
        let c2 = 1.0 - self.beta2.powi(self.t);
        let params = model
            .layers
            .iter_mut()
            .flat_map(|l| l.w.iter_mut().chain(l.b.iter_mut()));
        let grads = grad
            .layers
            .iter()
            .flat_map(|(w, b)| w.iter().chain(b.iter()));
        for (((p, g), m), v) in params.zip(grads).zip(&mut self.m).zip(&mut self.v) {
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            *p -= self.lr * (*m / c1) / ((*v / c2).sqrt() + self.eps);
        }
    }
}
