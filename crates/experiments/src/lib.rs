//! Research runs behind `docs/results.md` and `docs/benchmarks.md`, kept out of the product:
//! `cargo test` at the root does not build them (this crate is not a default member), and
//! `scripts/lgg-experiments.sh` runs the ones results.md reproduces
//! (`cargo run -p camseg-experiments --example NAME`). This library holds what the
//! val-only exploration examples share.

pub mod explore;
