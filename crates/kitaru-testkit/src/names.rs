//! Names no earlier run used: the dev server keeps its data between runs,
//! and tests share it.

/// A fresh name for a scope, secret, tag…: `rs-<label>-<uuid>`.
pub fn fresh(label: &str) -> String {
    format!("rs-{label}-{}", uuid::Uuid::new_v4().simple())
}
