//! How good a segmentation is, the way the field scores it: cells matched one to one
//! (`metrics`), held-out reports (`evaluate`) and why cells went unmatched (`unmatched`).

pub mod evaluate;
pub mod metrics;
pub mod unmatched;
