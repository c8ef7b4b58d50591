pub mod build;
pub mod descriptions;
pub mod model;
mod mutations;
pub mod permissions;
pub mod names;
#[cfg(test)]
mod tests;
