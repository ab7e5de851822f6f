//! What tests sharing one server must not do at the same time. The locks
//! are per test process: `cargo test` runs its test binaries one after the
//! other.

use std::future::Future;
use std::sync::RwLock;

/// Serialises tests that change executions (cancel, input, new runs) with
/// tests that compare listings: readers share it, changers hold it alone.
pub fn executions_lock() -> &'static RwLock<()> {
    static LOCK: RwLock<()> = RwLock::new(());
    &LOCK
}

/// Runs an async test that changes or starts executions, holding off the
/// tests that compare listings meanwhile.
pub fn changing_executions(test: impl Future<Output = ()>) {
    let _changing = executions_lock()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(test);
}

/// One test at a time changes the deployments of `research_agent`.
pub async fn deployments_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}
