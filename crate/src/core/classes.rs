//! The three classes every pixel is sorted into, as the posts define them.

/// Classes, in the order of the network's outputs.
pub const CLASSES: [&str; 3] = ["other", "cell", "edge"];
pub const CLASS_OTHER: u8 = 0;
pub const CLASS_CELL: u8 = 1;
pub const CLASS_EDGE: u8 = 2;
