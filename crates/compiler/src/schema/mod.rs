pub mod build;
pub mod model;
mod mutations;
pub mod names;
