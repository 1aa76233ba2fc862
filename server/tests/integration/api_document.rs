//! The browser inbox is typed against the server's API document: it is committed as
//! `ui/src/lib/api-document/openapi.json` (openapi-typescript makes the UI's path types
//! from it), and this test fails when the server's document changes without it
//! (`TASKPOOL_UPDATE_BINDINGS=1` rewrites it, as for the ts-rs types).

use std::path::Path;

use taskpool_server::api::ApiDoc;
use utoipa::OpenApi;

#[test]
fn the_uis_copy_of_the_api_document_is_current() {
    let fresh = ApiDoc::openapi().to_pretty_json().expect("the document") + "\n";
    let committed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/api-document/openapi.json");
    if std::env::var("TASKPOOL_UPDATE_BINDINGS").is_ok_and(|v| v == "1") {
        std::fs::write(&committed, &fresh).expect("write");
    }
    let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        on_disk == fresh,
        "ui/src/lib/api-document/openapi.json is not the server's API document: run TASKPOOL_UPDATE_BINDINGS=1 cargo test -p taskpool-server --test integration api_document"
    );
}
