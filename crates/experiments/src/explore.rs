//! What the val-only exploration examples share: their arguments (DATA MODEL SPLIT, test
//! refused), the model and the split's tumour slices, and their table of mean Dice by cut.

use burn::tensor::Device;
use camseg::card::{files, ModelCard};
use camseg::data::{Dataset, Negatives, Record};
use camseg::metrics::mean;
use camseg::model::Classifier;

/// A split's tumour slices and the model that explores them.
pub struct Exploration {
    pub split: String,
    pub device: Device,
    pub card: ModelCard,
    pub model: Classifier,
    pub ds: Dataset,
    pub records: Vec<Record>,
}

impl Exploration {
    /// From the command line `DATA MODEL SPLIT`; `name` is the example's, for the usage line.
    /// Test is refused: it is for reporting, never for choosing.
    pub fn from_args(name: &str) -> camseg::Result<Exploration> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let [data, model_path, split] = <[String; 3]>::try_from(args).map_err(|_| camseg::Error::Invalid(format!("usage: {name} DATA MODEL SPLIT")))?;
        if split == "test" {
            return Err(camseg::Error::Invalid("explore on val only: test is for reporting".into()));
        }
        let device = Device::flex();
        let (card, model) = files::load(std::path::Path::new(&model_path), &device)?;
        let ds = Dataset::open(&data)?;
        let records = ds.select(&split, Negatives::All)?.into_iter().filter(|r| r.is_tumour()).collect();
        Ok(Exploration { split, device, card, model, ds, records })
    }
}

/// A Markdown table: one row per recipe, one column per cut (the last column is Otsu), each
/// cell the mean of that recipe's scores at that cut.
pub fn print_table(first_column: &str, cuts: &[f32], names: &[String], scores: &[Vec<Vec<f64>>]) {
    let cut_names: Vec<String> = cuts.iter().map(|t| t.to_string()).collect();
    println!("| {first_column} | {} | otsu |\n|---|{}", cut_names.join(" | "), "---|".repeat(cuts.len() + 1));
    for (name, row) in names.iter().zip(scores) {
        let cells: Vec<String> = row.iter().map(|s| format!("{:.3}", mean(s))).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
}

/// Writes every image's score under each variant as CSV (one row per image: its cluster, then
/// one column per variant), for checking a choice on one half of the split's clusters against
/// the other (`scripts/split-half.py`).
pub fn write_scores(path: &str, clusters: &[String], names: &[String], columns: &[Vec<f64>]) -> camseg::Result<()> {
    let header: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let mut csv = format!("cluster,{}\n", header.join(","));
    for (i, cluster) in clusters.iter().enumerate() {
        let row: Vec<String> = columns.iter().map(|c| format!("{:.5}", c[i])).collect();
        csv += &format!("{cluster},{}\n", row.join(","));
    }
    std::fs::write(path, csv).map_err(|e| camseg::Error::io(path, e))
}
