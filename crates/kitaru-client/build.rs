//! Generates the client from the vendored OpenAPI document into `OUT_DIR`.
//!
//! All the work is in `kitaru-codegen`; this only reads the spec and writes
//! what it returns. `src/lib.rs` includes `kitaru_client.rs` and
//! `src/operations.rs` includes `kitaru_operations.rs`; the test
//! `generated_is_fresh` compares the files with the reviewed copies in
//! `generated/`.

use std::path::PathBuf;
use std::time::Instant;
use std::{env, fs};

/// The spec, relative to this crate (a link to the workspace's
/// `openapi/kitaru-server-0.94.4.openapi.json`, so `cargo package` puts the document
/// itself into the crate); the header of the generated files names it this
/// way.
const SPEC: &str = "openapi/kitaru-server-0.94.4.openapi.json";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let spec_path = manifest_dir.join(SPEC);
    println!("cargo:rerun-if-changed={}", spec_path.display());

    let spec = fs::read(&spec_path)
        .unwrap_or_else(|e| panic!("cannot read the spec {}: {e}", spec_path.display()));
    let options = kitaru_codegen::Options {
        spec_file: SPEC.to_owned(),
        inner_type: "crate::session::Session".to_owned(),
        timestamp_type: "crate::timestamp::Timestamp".to_owned(),
        include_deprecated: true,
    };
    let started = Instant::now();
    let generated = kitaru_codegen::generate(&spec, &options).unwrap_or_else(|e| panic!("{e}"));
    // Shown by `cargo build -vv`: the cost of generation within the build.
    eprintln!(
        "kitaru-codegen: {} operations, {} lines in {:.2?}; {} callable by name, input schemas {} bytes (largest: {}, {} bytes)",
        generated.generated_operations,
        generated.client.lines().count(),
        started.elapsed(),
        generated.callable_operations,
        generated.input_schema_bytes,
        generated.largest_input_schema.0,
        generated.largest_input_schema.1,
    );

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (name, contents) in [
        ("kitaru_client.rs", &generated.client),
        ("operations.md", &generated.operations_report),
        ("kitaru_operations.rs", &generated.operations),
    ] {
        let path = out_dir.join(name);
        fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
