//! `cellseg convert`: a weights file stored in another precision (f16 halves the size).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use cellseg::model::backend::Backend;
use cellseg::model::weights::{self, Precision};

use crate::{Result, read};

/// `--precision` of a converted weights file.
#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    /// half the size; what the committed networks use
    F16,
    F32,
}

#[derive(Args)]
pub(crate) struct ConvertArgs {
    /// Weights file to read.
    #[arg(long)]
    weights: PathBuf,
    /// The precision to store the parameters in.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F16)]
    precision: PrecisionArg,
    /// Where to write the converted file.
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(a: ConvertArgs) -> Result<()> {
    let (precision, name) = match a.precision {
        PrecisionArg::F16 => (Precision::F16, "f16"),
        PrecisionArg::F32 => (Precision::F32, "f32"),
    };
    let bytes = read(&a.weights)?;
    let net = weights::model_from_bytes(&bytes, &Backend::cpu().device)
        .map_err(|e| format!("{}: {e}", a.weights.display()))?;
    let out = weights::model_to_bytes(&net, precision).map_err(|e| e.to_string())?;
    std::fs::write(&a.out, &out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    eprintln!(
        "wrote {} ({}, {} -> {} bytes)",
        a.out.display(),
        name,
        bytes.len(),
        out.len()
    );
    Ok(())
}
