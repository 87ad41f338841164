//! The training curves as an SVG picture: loss per epoch on the left,
//! accuracy per epoch on the right, teacher and student.

use std::path::Path;

use plotters::prelude::*;

use crate::train::History;

/// Why the picture could not be drawn.
pub type PlotError = Box<dyn std::error::Error>;

const TEACHER: RGBColor = RGBColor(31, 119, 180);
const STUDENT: RGBColor = RGBColor(214, 39, 40);

/// Draws the loss and accuracy curves of `teacher` and `student` to an SVG
/// file at `path` (epoch 0 is the loss before training).
///
/// ```
/// use examples::train::{EpochStats, History};
/// let e = |epoch, loss, acc| EpochStats { epoch, train_loss: loss, train_accuracy: acc,
///                                         test_accuracy: acc, seconds: 0.1 };
/// let h = |name| History { name, initial_loss: 2.3, epochs: vec![e(1, 1.0, 0.8), e(2, 0.5, 0.9)] };
/// let path = std::env::temp_dir().join("examples-plot-doctest.svg");
/// examples::plot::training_curves(&h("teacher"), &h("student"), &path).unwrap();
/// let svg = std::fs::read_to_string(&path).unwrap();
/// assert!(svg.contains("<svg") && svg.contains("accuracy"));
/// ```
pub fn training_curves(teacher: &History, student: &History, path: &Path) -> Result<(), PlotError> {
    let root = SVGBackend::new(path, (1200, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let epochs = teacher.epochs.len().max(student.epochs.len()).max(1) as f64;

    // Loss.
    let series = |h: &History| -> Vec<(f64, f64)> {
        std::iter::once((0.0, h.initial_loss))
            .chain(h.epochs.iter().map(|e| (e.epoch as f64, e.train_loss)))
            .collect()
    };
    let (t_loss, s_loss) = (series(teacher), series(student));
    let max_loss = t_loss
        .iter()
        .chain(&s_loss)
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        * 1.05;
    let mut chart = ChartBuilder::on(&left)
        .caption("Training loss per epoch", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..epochs, 0.0..max_loss.max(1e-9))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("mean training loss")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", 14))
        .draw()?;
    chart
        .draw_series(LineSeries::new(t_loss, TEACHER.stroke_width(2)))?
        .label("teacher (label-smoothed CE)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], TEACHER.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(s_loss, STUDENT.stroke_width(2)))?
        .label("student (distillation loss)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], STUDENT.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;

    // Accuracy.
    let acc = |h: &History, test: bool| -> Vec<(f64, f64)> {
        h.epochs
            .iter()
            .map(|e| {
                let a = if test {
                    e.test_accuracy
                } else {
                    e.train_accuracy
                };
                (e.epoch as f64, 100.0 * a)
            })
            .collect()
    };
    let min_acc = [teacher, student]
        .iter()
        .flat_map(|h| h.epochs.iter())
        .flat_map(|e| [e.train_accuracy, e.test_accuracy])
        .filter(|v| v.is_finite())
        .fold(1.0, f64::min);
    let floor = ((100.0 * min_acc - 5.0) / 10.0).floor().clamp(0.0, 9.0) * 10.0;
    let mut chart = ChartBuilder::on(&right)
        .caption("Accuracy per epoch", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..epochs, floor..100.0)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("accuracy (%)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 14))
        .draw()?;
    let lines = [
        (teacher, false, TEACHER.stroke_width(2), "teacher, train"),
        (
            teacher,
            true,
            TEACHER.stroke_width(1),
            "teacher, test (dashed)",
        ),
        (student, false, STUDENT.stroke_width(2), "student, train"),
        (
            student,
            true,
            STUDENT.stroke_width(1),
            "student, test (dashed)",
        ),
    ];
    for (h, test, style, label) in lines {
        let points = acc(h, test);
        let anno = if test {
            chart.draw_series(DashedLineSeries::new(points, 6, 4, style))?
        } else {
            chart.draw_series(LineSeries::new(points, style))?
        };
        anno.label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
