//! The reviewed copies in `generated/` must be what the build generates.
//!
//! When the spec or the generator changes, this test fails until the copies
//! are refreshed, so that every change to the generated client shows up as a
//! diff in review. Refresh them with
//!
//! ```text
//! KITARU_UPDATE_GENERATED=1 cargo test -p kitaru-client --test generated_is_fresh
//! ```

use std::path::{Path, PathBuf};

const FILES: [&str; 3] = ["kitaru_client.rs", "operations.md", "kitaru_operations.rs"];

fn checked_in(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../generated")
        .join(name)
}

fn built(name: &str) -> PathBuf {
    Path::new(env!("OUT_DIR")).join(name)
}

#[test]
fn checked_in_copies_match_the_build() {
    let update = std::env::var_os("KITARU_UPDATE_GENERATED").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for name in FILES {
        let fresh = std::fs::read_to_string(built(name))
            .unwrap_or_else(|e| panic!("the build did not write {name}: {e}"));
        let copy = checked_in(name);
        if std::fs::read_to_string(&copy).ok().as_deref() == Some(fresh.as_str()) {
            continue;
        }
        if update {
            std::fs::write(&copy, &fresh)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", copy.display()));
        } else {
            stale.push(format!("generated/{name}"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} out of date with the spec or the generator; review the change and refresh with\n  \
         KITARU_UPDATE_GENERATED=1 cargo test -p kitaru-client --test generated_is_fresh",
        stale.join(", ")
    );
}
