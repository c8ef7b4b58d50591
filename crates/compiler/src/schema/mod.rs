pub mod build;
mod extension_ops;
pub mod model;
mod mutations;
pub mod permissions;
pub mod names;
#[cfg(test)]
mod tests;
