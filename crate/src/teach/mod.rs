//! What the walkthrough shows beside the pipeline: synthetic colonies with exact labels
//! (`colony`) and the classes' intensity histograms (`intensity`).

pub mod colony;
pub mod intensity;
