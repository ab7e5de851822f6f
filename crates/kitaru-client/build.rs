//! Generates the client from the vendored OpenAPI documents into `OUT_DIR`.
//!
//! One document per server version (`openapi/kitaru-server-<version>.openapi.json`),
//! merged into one client that serves every one of them (see
//! `kitaru_codegen::versions`). All the work is in `kitaru-codegen`; this only
//! reads the specs and writes what it returns. `src/lib.rs` includes `kitaru_client.rs` and
//! `src/operations.rs` includes `kitaru_operations.rs`; the test
//! `generated_is_fresh` compares the files with the reviewed copies in
//! `generated/`.

use std::path::PathBuf;
use std::time::Instant;
use std::{env, fs};

/// The specs' folder, relative to this crate: links to the workspace's
/// `openapi/kitaru-server-<version>.openapi.json`, so `cargo package` puts the
/// documents themselves into the crate; the headers of the generated files
/// name them this way.
const SPECS: &str = "openapi/";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let specs_dir = manifest_dir.join(SPECS);
    println!("cargo:rerun-if-changed={}", specs_dir.display());
    let specs =
        kitaru_codegen::versions::read_dir(&specs_dir, SPECS).unwrap_or_else(|e| panic!("{e}"));
    for spec in &specs {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(&spec.path).display()
        );
    }
    let options = kitaru_codegen::Options {
        spec_file: SPECS.to_owned(),
        inner_type: "crate::session::Session".to_owned(),
        timestamp_type: "crate::timestamp::Timestamp".to_owned(),
        include_deprecated: true,
    };
    let started = Instant::now();
    let generated =
        kitaru_codegen::generate_versions(&specs, &options).unwrap_or_else(|e| panic!("{e}"));
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
