pub mod build;
pub mod descriptions;
pub(crate) mod extension_ops;
pub mod model;
mod mutations;
mod stream;
pub mod permissions;
pub mod names;
#[cfg(test)]
mod tests;
