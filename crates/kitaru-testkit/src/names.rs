//! Names no earlier run used (the dev server keeps its data between runs,
//! and tests share it), and ports nothing listens on.

/// A fresh name for a scope, secret, tag…: `rs-<label>-<uuid>`.
pub fn fresh(label: &str) -> String {
    format!("rs-{label}-{}", uuid::Uuid::new_v4().simple())
}

/// A port on 127.0.0.1 that nothing listens on now: bound by the system,
/// then freed.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("the system gives a free port")
        .port()
}
