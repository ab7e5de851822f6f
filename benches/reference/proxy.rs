//! A counting reverse proxy: HTTP/1 on a free loopback port, every request
//! forwarded to the Kitaru server as it came and written down. A server
//! reaches it through a copy of the CLI config that names the proxy's URL
//! instead of the server's.

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use kitaru_testkit::TestServer;

/// The proxy; it stops when dropped.
pub struct CountingProxy {
    pub url: String,
    forwarder: Arc<Forwarder>,
    accepting: JoinHandle<()>,
}

/// Forwards requests to `upstream` and writes each down.
struct Forwarder {
    upstream: String,
    http: reqwest::Client,
    seen: Mutex<Vec<String>>,
}

impl CountingProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:41234`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port for the proxy");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let forwarder = Arc::new(Forwarder {
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            seen: Mutex::default(),
        });
        let accepting = tokio::spawn(accept(listener, Arc::clone(&forwarder)));
        Self {
            url,
            forwarder,
            accepting,
        }
    }

    /// The requests forwarded since the last call, as `METHOD /path?query`.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.forwarder.seen.lock().unwrap())
    }

    /// A CLI config folder like the server's, whose `config.yaml` names this
    /// proxy as the store; every other entry (the local artifact stores,
    /// ...) links to the original.
    pub fn cli_config(&self, server: &TestServer) -> tempfile::TempDir {
        let original = Path::new(server.str("/config_path"));
        let copy = tempfile::Builder::new()
            .prefix("kitaru-bench-config-")
            .tempdir()
            .expect("a temporary config folder");
        for entry in std::fs::read_dir(original).expect("read the CLI config folder") {
            let entry = entry.expect("a config entry");
            let target = copy.path().join(entry.file_name());
            if entry.file_name() == "config.yaml" {
                let text = std::fs::read_to_string(entry.path()).expect("read config.yaml");
                assert!(
                    text.contains(&server.url),
                    "config.yaml names {}",
                    server.url
                );
                std::fs::write(&target, text.replace(&server.url, &self.url))
                    .expect("write the proxy's config.yaml");
            } else {
                std::os::unix::fs::symlink(entry.path(), &target).expect("link a config entry");
            }
        }
        copy
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn accept(listener: TcpListener, forwarder: Arc<Forwarder>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let forwarder = Arc::clone(&forwarder);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let forwarder = Arc::clone(&forwarder);
                async move { Ok::<_, Infallible>(forwarder.forward(request).await) }
            });
            // A client closing its connection ends this; nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Forwarder {
    async fn forward(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let target = parts
            .uri
            .path_and_query()
            .map_or("/", |target| target.as_str())
            .to_owned();
        self.seen
            .lock()
            .unwrap()
            .push(format!("{} {target}", parts.method));
        let body = match body.collect().await {
            Ok(body) => body.to_bytes(),
            Err(error) => return failure(StatusCode::BAD_REQUEST, &error),
        };
        let mut upstream = self
            .http
            .request(parts.method, format!("{}{target}", self.upstream))
            .body(body);
        for (name, value) in &parts.headers {
            if ![HOST, CONTENT_LENGTH, CONNECTION, TRANSFER_ENCODING].contains(name) {
                upstream = upstream.header(name, value);
            }
        }
        let answer = match upstream.send().await {
            Ok(answer) => answer,
            Err(error) => return failure(StatusCode::BAD_GATEWAY, &error),
        };
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if ![CONTENT_LENGTH, CONNECTION, TRANSFER_ENCODING].contains(name) {
                response = response.header(name, value);
            }
        }
        match answer.bytes().await {
            Ok(bytes) => response
                .body(Full::new(bytes))
                .expect("headers taken from a valid response"),
            Err(error) => failure(StatusCode::BAD_GATEWAY, &error),
        }
    }
}

fn failure(status: StatusCode, error: &dyn std::fmt::Display) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("proxy: {error}"))));
    *response.status_mut() = status;
    response
}
