pub mod build;
pub mod model;
pub mod names;
