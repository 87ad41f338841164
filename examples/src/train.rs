//! Training with any loss: minibatch Adam over a hand-rolled [`Mlp`], the
//! loss's gradient with respect to the logits coming from the loss (e.g. a
//! `loss!`'s generated `value_and_grad`), backpropagated by
//! [`Mlp::backward`]; then teacher → student distillation, and a
//! finite-difference check of the whole gradient.

use std::cell::RefCell;
use std::time::Instant;

use loss_core::LossError;
use nalgebra::DMatrix;
use verify::finite_diff::{check_gradient, FdOptions, FdReport, FdTolerance};

use crate::digits::{Digits, CLASSES, PIXELS};
use crate::mlp::{Adam, Mlp};
use crate::rng::SplitMix64;

/// What a loss sees of a batch besides the logits.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// The label of each sample (each column of the logits).
    pub labels: &'a [usize],
    /// The teacher's logits of the same samples (`classes × n`) when
    /// training a student, `None` when training the teacher.
    pub teacher: Option<&'a DMatrix<f64>>,
}

/// A loss as the training loop uses it: from the logits (`classes × n`) and
/// the batch, the loss (a mean over the batch) with its gradient with respect
/// to the logits written into `grad` (same shape).
///
/// Any closure of that shape is one; a `loss!` declaration gives it in one
/// line, e.g. `|z, b, dz| ce::value_and_grad(z, b.labels, dz)`.
pub trait Objective {
    /// The mean loss of the batch, and its gradient written into `grad`.
    fn value_and_grad(
        &mut self,
        logits: &DMatrix<f64>,
        batch: &Batch<'_>,
        grad: &mut DMatrix<f64>,
    ) -> Result<f64, LossError>;
}

impl<T> Objective for T
where
    T: FnMut(&DMatrix<f64>, &Batch<'_>, &mut DMatrix<f64>) -> Result<f64, LossError>,
{
    fn value_and_grad(
        &mut self,
        logits: &DMatrix<f64>,
        batch: &Batch<'_>,
        grad: &mut DMatrix<f64>,
    ) -> Result<f64, LossError> {
        self(logits, batch, grad)
    }
}

/// The settings of a distillation run.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Layer sizes of the teacher, input first.
    pub teacher_sizes: Vec<usize>,
    /// Layer sizes of the student.
    pub student_sizes: Vec<usize>,
    /// Epochs of the teacher, then of the student.
    pub epochs: usize,
    /// Samples per minibatch.
    pub batch_size: usize,
    /// Adam's step size.
    pub learning_rate: f64,
    /// Seed of the initial weights and the shuffling of each epoch.
    pub seed: u64,
}

impl Default for Config {
    /// The example's defaults: a 64-128-64-10 teacher, a 64-16-10 student.
    fn default() -> Config {
        Config {
            teacher_sizes: vec![PIXELS, 128, 64, CLASSES],
            student_sizes: vec![PIXELS, 16, CLASSES],
            epochs: 20,
            batch_size: 32,
            learning_rate: 2e-3,
            seed: 1,
        }
    }
}

/// The measurements of one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    /// The mean of the batch losses over the epoch (while training).
    pub train_loss: f64,
    /// Accuracy on the training set at the end of the epoch.
    pub train_accuracy: f64,
    /// Accuracy on the test set at the end of the epoch.
    pub test_accuracy: f64,
    /// Wall time of the epoch's training steps, in seconds.
    pub seconds: f64,
}

/// The history of one model's training.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// `"teacher"` or `"student"`.
    pub name: &'static str,
    /// The loss on the whole training set before the first step.
    pub initial_loss: f64,
    /// One entry per epoch.
    pub epochs: Vec<EpochStats>,
}

impl History {
    /// The last epoch's measurements.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }

    /// Mean wall time of an epoch, in seconds.
    pub fn seconds_per_epoch(&self) -> f64 {
        self.epochs.iter().map(|e| e.seconds).sum::<f64>() / self.epochs.len() as f64
    }
}

/// Hears about training as it goes (for a progress bar); every method does
/// nothing by default.
pub trait Observer {
    /// An epoch of `batches` minibatches starts.
    fn epoch_started(&mut self, _model: &'static str, _epoch: usize, _batches: usize) {}
    /// A minibatch is done; `running_loss` is the epoch's mean so far.
    fn batch_done(&mut self, _running_loss: f64) {}
    /// An epoch is done.
    fn epoch_done(&mut self, _model: &'static str, _stats: &EpochStats) {}
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {}

/// The loss of `model` on all of `data` (no step taken).
pub fn evaluate(
    model: &Mlp,
    data: &Digits,
    teacher_logits: Option<&DMatrix<f64>>,
    objective: &mut dyn Objective,
) -> Result<f64, LossError> {
    let logits = model.logits(&data.images);
    let mut grad = DMatrix::zeros(logits.nrows(), logits.ncols());
    let batch = Batch {
        labels: &data.labels,
        teacher: teacher_logits,
    };
    objective.value_and_grad(&logits, &batch, &mut grad)
}

/// Trains `model` for `epochs` epochs of minibatch Adam on `train`, with the
/// gradient of `objective` backpropagated through the layers.
/// `teacher_logits` (`classes × train.len()`), if given, are passed to the
/// loss, sliced to each batch.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    name: &'static str,
    model: &mut Mlp,
    train: &Digits,
    test: &Digits,
    teacher_logits: Option<&DMatrix<f64>>,
    objective: &mut dyn Objective,
    config: &Config,
    rng: &mut SplitMix64,
    observer: &mut dyn Observer,
) -> Result<History, LossError> {
    let initial_loss = evaluate(model, train, teacher_logits, objective)?;
    let mut adam = Adam::new(model, config.learning_rate);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let batches = train.len().div_ceil(config.batch_size.max(1));
    let mut epochs = Vec::with_capacity(config.epochs);
    for epoch in 1..=config.epochs {
        observer.epoch_started(name, epoch, batches);
        let start = Instant::now();
        rng.shuffle(&mut order);
        let mut total = 0.0;
        for (k, idx) in order.chunks(config.batch_size.max(1)).enumerate() {
            let x = train.images.select_columns(idx);
            let labels: Vec<usize> = idx.iter().map(|&i| train.labels[i]).collect();
            let t = teacher_logits.map(|t| t.select_columns(idx));
            let trace = model.forward(&x);
            let mut dlogits = DMatrix::zeros(trace.logits.nrows(), trace.logits.ncols());
            let batch = Batch {
                labels: &labels,
                teacher: t.as_ref(),
            };
            let loss = objective.value_and_grad(&trace.logits, &batch, &mut dlogits)?;
            let grad = model.backward(&trace, &dlogits);
            adam.step(model, &grad);
            total += loss;
            observer.batch_done(total / (k + 1) as f64);
        }
        let seconds = start.elapsed().as_secs_f64();
        let stats = EpochStats {
            epoch,
            train_loss: total / batches as f64,
            train_accuracy: model.accuracy(&train.images, &train.labels),
            test_accuracy: model.accuracy(&test.images, &test.labels),
            seconds,
        };
        observer.epoch_done(name, &stats);
        epochs.push(stats);
    }
    Ok(History {
        name,
        initial_loss,
        epochs,
    })
}

/// The outcome of a distillation run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The trained teacher.
    pub teacher: Mlp,
    /// The trained student.
    pub student: Mlp,
    /// The teacher's training history.
    pub teacher_history: History,
    /// The student's training history.
    pub student_history: History,
}

/// A freshly initialised teacher and student for `config` (deterministic in
/// the seed).
pub fn init_models(config: &Config) -> (Mlp, Mlp) {
    let teacher = Mlp::new(
        &config.teacher_sizes,
        &mut SplitMix64::new(config.seed ^ 0x7EAC),
    );
    let student = Mlp::new(
        &config.student_sizes,
        &mut SplitMix64::new(config.seed ^ 0x57D0),
    );
    (teacher, student)
}

/// The whole run: trains the teacher with `teacher_loss`, then the student
/// with `student_loss`, which sees the trained teacher's logits in
/// [`Batch::teacher`].
pub fn distill(
    train: &Digits,
    test: &Digits,
    config: &Config,
    teacher_loss: &mut dyn Objective,
    student_loss: &mut dyn Objective,
    observer: &mut dyn Observer,
) -> Result<Outcome, LossError> {
    let (mut teacher, mut student) = init_models(config);
    let mut rng = SplitMix64::new(config.seed);
    let teacher_history = fit(
        "teacher",
        &mut teacher,
        train,
        test,
        None,
        teacher_loss,
        config,
        &mut rng,
        observer,
    )?;
    let soft = teacher.logits(&train.images);
    let student_history = fit(
        "student",
        &mut student,
        train,
        test,
        Some(&soft),
        student_loss,
        config,
        &mut rng,
        observer,
    )?;
    Ok(Outcome {
        teacher,
        student,
        teacher_history,
        student_history,
    })
}

/// The result of [`gradcheck`].
#[derive(Clone, Debug)]
pub struct GradCheck {
    /// The comparison of each checked parameter's derivative.
    pub report: FdReport,
    /// How many parameters were checked.
    pub checked: usize,
    /// How many parameters the model has.
    pub total: usize,
}

impl GradCheck {
    /// The largest relative error among the checked derivatives whose
    /// finite-difference estimate exceeds `1e-6` in magnitude (smaller ones
    /// are judged by the absolute tolerance).
    pub fn worst_relative_error(&self) -> f64 {
        self.report
            .components
            .iter()
            .filter(|c| c.expected.value.abs() > 1e-6)
            .map(|c| c.rel_error)
            .fold(0.0, f64::max)
    }
}

/// Checks the hand-written backpropagation through `model` together with
/// `objective`'s gradient, against finite differences of the loss as a
/// function of the parameters (verify's [`check_gradient`], Ridders'
/// extrapolation from a first step of 0.01), on the samples of `data`, with
/// verify's default tolerance (`atol = 1e-8`, `rtol = 1e-6`).
///
/// Checks every parameter if there are at most `max_params`, otherwise an
/// evenly spaced subset of `max_params` (covering every layer).
pub fn gradcheck(
    model: &Mlp,
    data: &Digits,
    teacher_logits: Option<&DMatrix<f64>>,
    objective: &mut dyn Objective,
    max_params: usize,
) -> GradCheck {
    let total = model.num_params();
    let chosen: Vec<usize> = if total <= max_params {
        (0..total).collect()
    } else {
        (0..max_params).map(|k| k * total / max_params).collect()
    };
    let batch = Batch {
        labels: &data.labels,
        teacher: teacher_logits,
    };
    // The claimed gradient: the loss's generated gradient, backpropagated.
    let trace = model.forward(&data.images);
    let mut dlogits = DMatrix::zeros(trace.logits.nrows(), trace.logits.ncols());
    let claimed_all = match objective.value_and_grad(&trace.logits, &batch, &mut dlogits) {
        Ok(_) => model.backward(&trace, &dlogits).to_vec(),
        Err(_) => vec![f64::NAN; total],
    };
    let claimed: Vec<f64> = chosen.iter().map(|&i| claimed_all[i]).collect();
    let base = model.params();
    let x0: Vec<f64> = chosen.iter().map(|&i| base[i]).collect();
    // The function: the loss as a function of the chosen parameters.
    let state = RefCell::new((model.clone(), objective, base));
    let f = |sub: &[f64]| {
        let (net, objective, params) = &mut *state.borrow_mut();
        for (&i, &v) in chosen.iter().zip(sub) {
            params[i] = v;
        }
        net.set_params(params);
        let logits = net.logits(&data.images);
        let mut g = DMatrix::zeros(logits.nrows(), logits.ncols());
        objective
            .value_and_grad(&logits, &batch, &mut g)
            .unwrap_or(f64::NAN)
    };
    // Steps from 0.01: a weight moved by 0.1 can saturate a `tanh` of a
    // deep network, and the extrapolation then starts from a poor estimate.
    let options = FdOptions {
        initial_step: 0.01,
        ..FdOptions::default()
    };
    let report =
        check_gradient(f, &x0, &claimed, &options, FdTolerance::default()).named("chosen params");
    GradCheck {
        report,
        checked: chosen.len(),
        total,
    }
}
