//! `bench-hello ADDR`: answers `GET /` with a short text and nothing else, on the same runtime
//! as the service (multi-threaded tokio, one worker per CPU).

use std::process::ExitCode;

use axum::Router;
use axum::routing::get;

fn main() -> ExitCode {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_io().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bench-hello: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let app = Router::new().route("/", get(|| async { "Hello, World!" }));
        axum::serve(listener, app).await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-hello: {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}
