//! A shortened run of the `digits_distillation` example: the same losses,
//! data, models and training loop, for 2 epochs.

use examples::digits::Digits;
use examples::train::{self, Batch, Config, Outcome, Silent};
use loss_core::loss;
use nalgebra::DMatrix;

loss! {
    fn smoothed_ce(#[grad] z: Vector<C>, y: Class<C>, eps: Scalar) {
        (1.0 - eps) * cross_entropy(z, y) + eps * mean(-log_softmax(z))
    }
    fn distillation(#[grad] s: Vector<C>, t: Vector<C>, y: Class<C>, alpha: Scalar, temp: Scalar) {
        (1.0 - alpha) * cross_entropy(s, y)
            + alpha * temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp))
    }
}

fn teacher_loss(
    z: &DMatrix<f64>,
    b: &Batch<'_>,
    dz: &mut DMatrix<f64>,
) -> Result<f64, loss_core::LossError> {
    smoothed_ce::value_and_grad(z, b.labels, 0.1, dz)
}

fn student_loss(
    s: &DMatrix<f64>,
    b: &Batch<'_>,
    ds: &mut DMatrix<f64>,
) -> Result<f64, loss_core::LossError> {
    distillation::value_and_grad(s, b.teacher.unwrap(), b.labels, 0.7, 4.0, ds)
}

fn short_run(seed: u64) -> Outcome {
    let (train_set, test_set) = Digits::load().unwrap().split(0.2, seed);
    let config = Config {
        epochs: 2,
        seed,
        ..Config::default()
    };
    train::distill(
        &train_set,
        &test_set,
        &config,
        &mut teacher_loss,
        &mut student_loss,
        &mut Silent,
    )
    .unwrap()
}

#[test]
fn two_epochs_lower_the_loss_and_beat_chance_by_far() {
    let out = short_run(1);
    for h in [&out.teacher_history, &out.student_history] {
        assert_eq!(h.epochs.len(), 2);
        let (e1, e2) = (h.epochs[0], h.epochs[1]);
        assert!(
            e1.train_loss < h.initial_loss && e2.train_loss < e1.train_loss,
            "{}: loss {} -> {} -> {}",
            h.name,
            h.initial_loss,
            e1.train_loss,
            e2.train_loss
        );
        // Chance is 10%.
        assert!(
            e2.test_accuracy > 0.6,
            "{}: test accuracy {}",
            h.name,
            e2.test_accuracy
        );
        assert!(
            e2.train_accuracy > 0.6,
            "{}: train accuracy {}",
            h.name,
            e2.train_accuracy
        );
    }
    assert!(out.teacher_history.epochs[1].test_accuracy > 0.9);
}

#[test]
fn a_seed_gives_the_same_run() {
    let strip = |o: &Outcome| {
        [&o.teacher_history, &o.student_history]
            .iter()
            .flat_map(|h| h.epochs.iter())
            .map(|e| (e.train_loss, e.train_accuracy, e.test_accuracy))
            .collect::<Vec<_>>()
    };
    let (a, b) = (short_run(5), short_run(5));
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(a.student, b.student);
    assert_ne!(strip(&a), strip(&short_run(6)));
}

#[test]
fn the_gradient_check_passes_and_catches_a_wrong_backprop() {
    let (train_set, _) = Digits::load().unwrap().split(0.2, 1);
    let few = train_set.subset(&[0, 1, 2, 3]);
    let (teacher, student) = train::init_models(&Config::default());
    let check = train::gradcheck(&teacher, &few, None, &mut teacher_loss, 300);
    assert!(check.report.passed(), "{}", check.report);
    assert_eq!((check.checked, check.total), (300, teacher.num_params()));
    let t = teacher.logits(&few.images);
    let check = train::gradcheck(&student, &few, Some(&t), &mut student_loss, 400);
    assert!(check.report.passed(), "{}", check.report);
    assert_eq!(check.checked, 400);
    assert!(check.worst_relative_error() < 1e-6);

    // A loss whose claimed gradient is off by 1% is caught.
    let mut wrong = |z: &DMatrix<f64>, b: &Batch<'_>, dz: &mut DMatrix<f64>| {
        let v = teacher_loss(z, b, dz)?;
        *dz *= 1.01;
        Ok(v)
    };
    let check = train::gradcheck(&student, &few, None, &mut wrong, 100);
    assert!(!check.report.passed());
}
