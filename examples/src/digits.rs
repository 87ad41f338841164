//! The 8×8 handwritten digits: 1797 images of the digits 0–9, 64 pixels of
//! 0..16 each (the UCI "Optical Recognition of Handwritten Digits" test set,
//! as shipped by scikit-learn). The compressed CSV is committed at
//! `examples/data/digits.csv.gz` and compiled into this crate; see
//! `examples/data/README.md` for its source and license.

use std::fmt;
use std::io::Read;

use nalgebra::DMatrix;

use crate::rng::SplitMix64;

/// The data file, gzip-compressed CSV: one image per line, 64 pixel values
/// then the label.
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Number of pixels of an image (its input features).
pub const PIXELS: usize = 64;
/// Number of classes.
pub const CLASSES: usize = 10;

/// A set of images with their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Digits {
    /// One image per column, `PIXELS × n`, pixels scaled to `[0, 1]`.
    pub images: DMatrix<f64>,
    /// The digit of each image, `0..10`.
    pub labels: Vec<usize>,
}

/// Why the data could not be read.
#[derive(Debug)]
pub struct DataError(String);

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "digits data: {}", self.0)
    }
}

impl std::error::Error for DataError {}

impl Digits {
    /// All 1797 samples, in file order.
    ///
    /// ```
    /// let d = examples::digits::Digits::load().unwrap();
    /// assert_eq!(d.len(), 1797);
    /// assert_eq!(d.images.nrows(), 64);
    /// assert!(d.labels.iter().all(|&y| y < 10));
    /// ```
    pub fn load() -> Result<Digits, DataError> {
        Digits::from_gzip(DIGITS_CSV_GZ)
    }

    /// Parses gzip-compressed CSV in the format of [`DIGITS_CSV_GZ`].
    pub fn from_gzip(bytes: &[u8]) -> Result<Digits, DataError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(|e| DataError(format!("cannot decompress: {e}")))?;
        Digits::from_csv(&text)
    }

    /// Parses CSV: per line 64 pixel values in `0..=16`, then the label.
    ///
    /// ```
    /// let line = format!("{}3\n", "16,".repeat(64));
    /// let d = examples::digits::Digits::from_csv(&line).unwrap();
    /// assert_eq!((d.len(), d.labels[0], d.images[(5, 0)]), (1, 3, 1.0));
    /// assert!(examples::digits::Digits::from_csv("1,2,3\n").is_err());
    /// ```
    pub fn from_csv(text: &str) -> Result<Digits, DataError> {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let values: Vec<f64> = line
                .split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|e| DataError(format!("line {}: {e}", i + 1)))?;
            if values.len() != PIXELS + 1 {
                return Err(DataError(format!(
                    "line {}: {} values, expected {}",
                    i + 1,
                    values.len(),
                    PIXELS + 1
                )));
            }
            let label = values[PIXELS];
            if !(0.0..CLASSES as f64).contains(&label) || label.fract() != 0.0 {
                return Err(DataError(format!("line {}: label {label}", i + 1)));
            }
            pixels.extend(values[..PIXELS].iter().map(|p| p / 16.0));
            labels.push(label as usize);
        }
        Ok(Digits {
            images: DMatrix::from_vec(PIXELS, labels.len(), pixels),
            labels,
        })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` if there is no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Digits {
        Digits {
            images: self.images.select_columns(indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// A shuffled split into `(train, test)`, `test_fraction` of the samples
    /// in the test set; the same seed gives the same split.
    ///
    /// ```
    /// let d = examples::digits::Digits::load().unwrap();
    /// let (train, test) = d.split(0.2, 1);
    /// assert_eq!((train.len(), test.len()), (1438, 359));
    /// assert_eq!(d.split(0.2, 1).1, test);
    /// ```
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Digits, Digits) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        SplitMix64::new(seed).shuffle(&mut order);
        let n_test = (self.len() as f64 * test_fraction).round() as usize;
        let (test, train) = order.split_at(n_test.min(self.len()));
        (self.subset(train), self.subset(test))
    }
}
