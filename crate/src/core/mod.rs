//! The types every stage shares, at the bottom of the crate: the image (`plane`), the
//! networks' answer (`probability`), cells (`cells`) and the classes (`classes`).

pub mod cells;
pub mod classes;
pub mod plane;
pub mod probability;
