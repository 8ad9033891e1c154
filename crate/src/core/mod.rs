//! The types every stage shares, at the bottom of the crate: the image (`plane`), the
//! networks' answer (`probability`), cells (`cells`), the classes (`classes`)
//! and sums over squares (`square_sums`).

pub mod cells;
pub mod classes;
pub mod plane;
pub mod probability;
pub mod square_sums;
