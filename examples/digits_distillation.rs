//! Knowledge distillation on the 8×8 handwritten digits, end to end.
//!
//! A teacher MLP (64-128-64-10, `tanh`) is trained with label-smoothed
//! cross-entropy; then a smaller student (64-16-10) is trained with the
//! distillation loss: hard-label cross-entropy plus `T²·KL` to the teacher's
//! softened distribution at temperature `T`. Both losses are declared below
//! with `loss!`; their gradients with respect to the logits come from the
//! generated code, and backpropagation through the layers is hand-written
//! (`examples::mlp`). Before training, the two are checked together against
//! finite differences (`verify::finite_diff`).
//!
//! Run with `cargo run --release --example digits_distillation`
//! (`-- --help` for the flags). The data ships in `examples/data/`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use loss_core::loss;
use nalgebra::DMatrix;

use examples::cli::{above_zero, in_unit_interval};
use examples::digits::Digits;
use examples::train::{self, Batch, Config, EpochStats, GradCheck, Observer};

loss! {
    /// The teacher's loss: cross-entropy against labels smoothed by `eps`
    /// (PyTorch's `cross_entropy(z, y, label_smoothing=eps)`).
    pub fn smoothed_ce(#[grad] z: Vector<C>, y: Class<C>, eps: Scalar) {
        (1.0 - eps) * cross_entropy(z, y) + eps * mean(-log_softmax(z))
    }

    /// The student's loss (Hinton et al., 2015): `1 - alpha` of hard-label
    /// cross-entropy, `alpha` of `T²·KL(softmax(t/T) ‖ softmax(s/T))`.
    pub fn distillation(#[grad] s: Vector<C>, t: Vector<C>, y: Class<C>, alpha: Scalar, temp: Scalar) {
        (1.0 - alpha) * cross_entropy(s, y)
            + alpha * temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp))
    }
}

/// Distil a teacher MLP into a smaller student on the 8×8 digits, with losses
/// declared with `loss!` and hand-written backpropagation.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Training epochs, of the teacher and then of the student.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Distillation temperature T (above 0).
    #[arg(long, default_value_t = 4.0, value_parser = above_zero)]
    temperature: f64,
    /// Weight of the T²·KL term (1 - alpha goes to the hard-label term), in [0, 1].
    #[arg(long, default_value_t = 0.7, value_parser = in_unit_interval)]
    alpha: f64,
    /// Label smoothing of the teacher's cross-entropy, in [0, 1].
    #[arg(long, default_value_t = 0.1, value_parser = in_unit_interval)]
    smoothing: f64,
    /// Seed of the train/test split, the initial weights and the shuffling.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the training curves (SVG).
    #[arg(long, default_value = "target/digits_distillation.svg")]
    output: PathBuf,
}

/// A progress bar per epoch with the running loss; hidden when stdout is not a
/// terminal. Each finished epoch leaves one line.
struct Progress {
    bar: Option<ProgressBar>,
    tty: bool,
}

impl Observer for Progress {
    fn epoch_started(&mut self, model: &'static str, epoch: usize, batches: usize) {
        let target = if self.tty {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(batches as u64), target);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{model} epoch {epoch:>3}"));
        self.bar = Some(bar);
    }

    fn batch_done(&mut self, running_loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("loss {running_loss:.4}"));
            bar.inc(1);
        }
    }

    fn epoch_done(&mut self, model: &'static str, s: &EpochStats) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!(
            "{model} epoch {:>3}: loss {:.4}, train accuracy {:5.1}%, test accuracy {:5.1}%, {:.2} s",
            s.epoch,
            s.train_loss,
            100.0 * s.train_accuracy,
            100.0 * s.test_accuracy,
            s.seconds
        );
    }
}

fn print_check(what: &str, check: &GradCheck) {
    let verdict = if check.report.passed() {
        "pass"
    } else {
        "FAIL"
    };
    println!(
        "  {what}: {verdict}, {} of {} parameters, worst relative error {:.1e}",
        check.checked,
        check.total,
        check.worst_relative_error()
    );
    if !check.report.passed() {
        print!("{}", check.report);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let start = Instant::now();
    let data = Digits::load()?;
    let (train_set, test_set) = data.split(0.2, args.seed);
    println!(
        "8x8 digits: {} training and {} test images, 10 classes",
        train_set.len(),
        test_set.len()
    );
    let config = Config {
        epochs: args.epochs,
        seed: args.seed,
        ..Config::default()
    };
    let (eps, alpha, temp) = (args.smoothing, args.alpha, args.temperature);
    let mut teacher_loss = |z: &DMatrix<f64>, b: &Batch<'_>, dz: &mut DMatrix<f64>| {
        smoothed_ce::value_and_grad(z, b.labels, eps, dz)
    };
    let mut student_loss = |s: &DMatrix<f64>, b: &Batch<'_>, ds: &mut DMatrix<f64>| {
        let t = b
            .teacher
            .expect("the student's batches carry the teacher's logits");
        distillation::value_and_grad(s, t, b.labels, alpha, temp, ds)
    };

    println!("\nteacher loss: {}", smoothed_ce::FORMULA);
    for (input, g) in smoothed_ce::GRADIENT {
        println!("  d/d{input} = {g}");
    }
    println!("student loss: {}", distillation::FORMULA);
    for (input, g) in distillation::GRADIENT {
        println!("  d/d{input} = {g}");
    }

    // Check the hand-written backprop and the generated loss gradients
    // together, on 8 samples, before spending time training.
    println!("\ngradient check (finite differences, verify::finite_diff) on 8 samples:");
    let few = train_set.subset(&(0..8).collect::<Vec<_>>());
    let (teacher0, student0) = train::init_models(&config);
    let t_logits = teacher0.logits(&few.images) * 3.0; // a confident teacher
    let checks = [
        (
            "teacher + label-smoothed CE",
            train::gradcheck(&teacher0, &few, None, &mut teacher_loss, 1500),
        ),
        (
            "student + distillation loss",
            train::gradcheck(&student0, &few, Some(&t_logits), &mut student_loss, 1500),
        ),
    ];
    for (what, check) in &checks {
        print_check(what, check);
    }
    if checks.iter().any(|(_, c)| !c.report.passed()) {
        return Err("the gradient check failed: not training".into());
    }

    println!(
        "\ntraining: teacher {:?}, student {:?}, {} epochs each, batch {}, Adam lr {}, T = {temp}, alpha = {alpha}, smoothing = {eps}",
        config.teacher_sizes, config.student_sizes, config.epochs, config.batch_size, config.learning_rate
    );
    let mut progress = Progress {
        bar: None,
        tty: std::io::stdout().is_terminal(),
    };
    let outcome = train::distill(
        &train_set,
        &test_set,
        &config,
        &mut teacher_loss,
        &mut student_loss,
        &mut progress,
    )?;

    println!("\nsummary");
    println!("  model     params  train acc  test acc  s/epoch");
    for (h, m) in [
        (&outcome.teacher_history, &outcome.teacher),
        (&outcome.student_history, &outcome.student),
    ] {
        if let Some(last) = h.last() {
            println!(
                "  {:<8} {:>7}  {:>8.1}%  {:>7.1}%  {:>7.3}",
                h.name,
                m.num_params(),
                100.0 * last.train_accuracy,
                100.0 * last.test_accuracy,
                h.seconds_per_epoch()
            );
        }
    }
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    examples::plot::training_curves(
        &outcome.teacher_history,
        &outcome.student_history,
        &args.output,
    )?;
    println!("\ntraining curves written to {}", args.output.display());
    println!("total time {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
