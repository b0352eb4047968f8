//! Patient-level uncertainty: percentile bootstrap over patients, not slices.
//!
//! Neighbouring slices of one patient are nearly alike, so resampling slices would pretend
//! there are hundreds of independent cases where there are a dozen patients. Every figure
//! here resamples whole patients with replacement (Efron's percentile interval), and a paired
//! comparison evaluates both methods on the same resamples, so the patients' own difficulty
//! cancels out of the difference.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

/// Resamples drawn for every interval: the 2.5th and 97.5th percentiles settle to about
/// +-0.005 of Dice at this count.
pub const ROUNDS: usize = 2000;
/// Fixed, so a report prints the same interval every time it is run.
pub const SEED: u64 = 2022;

/// A 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn contains(&self, v: f64) -> bool {
        self.low <= v && v <= self.high
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3} to {:.3}", self.low, self.high)
    }
}

/// Items grouped by patient: `groups[p]` lists the item indices of patient `p`.
#[derive(Clone, Debug)]
pub struct Patients {
    groups: Vec<Vec<usize>>,
}

impl Patients {
    /// Groups items by their patient's name (first-seen order).
    pub fn of<S: AsRef<str>>(names: &[S]) -> Self {
        let mut index: Vec<(&str, usize)> = Vec::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref();
            match index.iter().find(|(n, _)| *n == name) {
                Some(&(_, g)) => groups[g].push(i),
                None => {
                    index.push((name, groups.len()));
                    groups.push(vec![i]);
                }
            }
        }
        Self { groups }
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The 95% percentile interval of `stat` over [`ROUNDS`] resamples of the patients.
    /// `stat` gets the items of one resample (a patient drawn twice gives its items twice)
    /// and may return NaN (e.g. AUC of a resample with one class), which is left out.
    pub fn bootstrap(&self, stat: impl Fn(&[usize]) -> f64) -> Interval {
        let mut rng = StdRng::seed_from_u64(SEED);
        let mut items = Vec::new();
        let mut values: Vec<f64> = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            items.clear();
            for _ in 0..self.groups.len() {
                items.extend(&self.groups[rng.random_range(0..self.groups.len())]);
            }
            let v = stat(&items);
            if v.is_finite() {
                values.push(v);
            }
        }
        percentiles(values)
    }
}

/// The 2.5th and 97.5th percentiles (NaN for no values).
fn percentiles(mut values: Vec<f64>) -> Interval {
    if values.is_empty() {
        return Interval { low: f64::NAN, high: f64::NAN };
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((q * (values.len() - 1) as f64).round() as usize).min(values.len() - 1)];
    Interval { low: at(0.025), high: at(0.975) }
}

/// A mean with its 95% patient-bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub ci95: Interval,
}

impl Patients {
    /// The mean of the finite `values` (one per item) and its 95% bootstrap interval.
    pub fn estimate(&self, values: &[f64]) -> Estimate {
        let some: Vec<Option<f64>> = values.iter().map(|&v| v.is_finite().then_some(v)).collect();
        let all: Vec<usize> = (0..values.len()).collect();
        Estimate { mean: mean_at(&some, &all), ci95: self.bootstrap(|items| mean_at(&some, items)) }
    }
}

/// Mean of `values` at `items` that are `Some` (NaN when none are).
pub fn mean_at(values: &[Option<f64>], items: &[usize]) -> f64 {
    let (sum, n) = items.iter().filter_map(|&i| values[i]).fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patients_are_resampled_whole() {
        // Two patients: one with Dice 1 on 9 slices, one with Dice 0 on 1 slice. Slice-level
        // resampling would put the mean near 0.9 every time; whole patients give resamples
        // of {1}, {0} and mixes, so the interval spans almost 0 to 1.
        let names: Vec<&str> = [["a"; 9].as_slice(), &["b"]].concat();
        let values: Vec<Option<f64>> = (0..10).map(|i| Some(if i < 9 { 1.0 } else { 0.0 })).collect();
        let patients = Patients::of(&names);
        assert_eq!(patients.len(), 2);
        let ci = patients.bootstrap(|items| mean_at(&values, items));
        assert_eq!(ci.high, 1.0);
        assert!(ci.low < 0.9, "{ci}");
        assert!(ci.contains(0.9));
    }

    #[test]
    fn a_constant_statistic_has_a_point_interval_and_nan_is_left_out() {
        let patients = Patients::of(&["a", "b", "c", "a"]);
        assert_eq!(patients.bootstrap(|_| 0.5), Interval { low: 0.5, high: 0.5 });
        assert!(patients.bootstrap(|_| f64::NAN).low.is_nan());
        assert!(mean_at(&[None, Some(1.0)], &[0]).is_nan());
        assert_eq!(mean_at(&[None, Some(1.0), Some(0.0)], &[1, 1, 2]), 2.0 / 3.0);
    }

    #[test]
    fn the_interval_narrows_with_more_patients() {
        let spread = |n: usize| {
            let names: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            let values: Vec<Option<f64>> = (0..n).map(|i| Some((i % 2) as f64)).collect();
            let ci = Patients::of(&names).bootstrap(|items| mean_at(&values, items));
            assert!(ci.contains(0.5), "{ci}");
            ci.high - ci.low
        };
        assert!(spread(200) < spread(12) / 2.0);
    }
}
