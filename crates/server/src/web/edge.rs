//! The one layer every request passes through, as one hand-written service and one future (no
//! boxed future, no clone of the inner service, no timer for a request answered at once). It
//! does, in order:
//!
//! - copies the connection's peer address where the handlers read it;
//! - chooses the request's language, for the rest of the request (and for any error page);
//! - refuses a cross-site state-changing request (403);
//! - answers 503 at once while the database is known to be down (see [`super::outage`]);
//! - runs the handler, turning a panic into the internal-error page; a request still running
//!   after [`SLOW_REQUEST`] asks for a database probe, and one still running after [`TIMEOUT`]
//!   is cut with 408;
//! - on the way out: asks for a probe when the answer says the database may be gone, marks the
//!   language, adds the security headers, says `Connection: close` while the node drains, and
//!   counts the request by route template (never the raw path, which may hold personal data and
//!   would let clients add series without end).
//!
//! Seven layers did this before, each a boxed future, most with a clone of the state: together
//! they cost four times the handler itself on `/healthz` (bench/README.md).

use std::convert::Infallible;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::error::{self, AppError, ProbeDatabase};
use super::{headers, lang, outage};
use crate::drain::{Drain, Peer};
use crate::i18n::{self, Lang};
use crate::metrics::Method;
use crate::state::AppState;
use crate::store::health::SLOW_REQUEST;

/// A request still running after this long is cut with 408.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Wraps every route (and the fallback) in [`Edge`].
#[derive(Clone)]
pub struct EdgeLayer {
    state: AppState,
    drain: Arc<Drain>,
}

impl EdgeLayer {
    pub fn new(state: AppState, drain: Arc<Drain>) -> Self {
        Self { state, drain }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner, state: self.state.clone(), drain: self.drain.clone() }
    }
}

#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    state: AppState,
    drain: Arc<Drain>,
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        if let Some(ConnectInfo(Peer(addr))) = request.extensions().get::<ConnectInfo<Peer>>().copied() {
            request.extensions_mut().insert(ConnectInfo(addr));
        }
        let lang = lang::of_request(request.headers());
        let out = Out {
            state: self.state.clone(),
            drain: self.drain.clone(),
            started,
            lang,
            is_asset: request.uri().path().starts_with("/static/"),
            method: Method::of(request.method()),
            // An `Arc<str>` clone, not a copy of the path.
            route: request.extensions().get::<MatchedPath>().cloned(),
        };
        let refusal = if headers::cross_site(&self.state, request.method(), request.headers()) {
            tracing::warn!(method = %request.method(), "cross-site request refused");
            Some(AppError::Forbidden)
        } else if outage::closed(&self.state, request.uri().path()) {
            Some(AppError::Unavailable(String::new()))
        } else {
            None
        };
        let stage = match refusal {
            Some(error) => Stage::Answered { response: Some(i18n::in_lang(lang, || error.into_response())) },
            None => Stage::Running { handler: self.inner.call(request), timer: None, slow: false },
        };
        EdgeFuture { stage, out }
    }
}

/// What the way out needs from the way in.
struct Out {
    state: AppState,
    drain: Arc<Drain>,
    started: Instant,
    lang: Lang,
    is_asset: bool,
    method: Method,
    route: Option<MatchedPath>,
}

impl Out {
    fn finish(&self, mut response: Response) -> Response {
        if response.extensions().get::<ProbeDatabase>().is_some() {
            self.state.store.health().suspect();
        }
        lang::mark(&mut response, self.lang, self.is_asset);
        headers::add_security_headers(&self.state, &mut response);
        if self.drain.is_draining() {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        self.state.metrics.observe_request(
            self.route.as_ref().map(MatchedPath::as_str),
            self.method,
            response.status().as_u16(),
            self.started.elapsed(),
        );
        response
    }
}

pin_project_lite::pin_project! {
    pub struct EdgeFuture<F> {
        #[pin]
        stage: Stage<F>,
        out: Out,
    }
}

pin_project_lite::pin_project! {
    #[project = StageProj]
    enum Stage<F> {
        Answered { response: Option<Response> },
        Running {
            #[pin]
            handler: F,
            // Made only when the handler first waits: most answers need no timer at all.
            timer: Option<Pin<Box<tokio::time::Sleep>>>,
            // Past SLOW_REQUEST (the probe was asked for); the timer now runs to TIMEOUT.
            slow: bool,
        },
    }
}

impl<F> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = &*this.out;
        let (mut handler, timer, slow) = match this.stage.project() {
            StageProj::Answered { response } => {
                // Taken on the first poll; a future polled after it finished may do anything.
                let Some(response) = response.take() else { return Poll::Pending };
                return Poll::Ready(Ok(out.finish(response)));
            }
            StageProj::Running { handler, timer, slow } => (handler, timer, slow),
        };
        // The handler runs in the request's language; a panic becomes the internal-error page.
        let polled = i18n::in_lang(out.lang, || {
            catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(cx)))
                .unwrap_or_else(|panic| Poll::Ready(Ok(error::panic_response(panic))))
        });
        if let Poll::Ready(Ok(response)) = polled {
            return Poll::Ready(Ok(out.finish(response)));
        }
        let timer =
            timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until((out.started + SLOW_REQUEST).into())));
        while timer.as_mut().poll(cx).is_ready() {
            if *slow {
                let timed_out = i18n::in_lang(out.lang, || StatusCode::REQUEST_TIMEOUT.into_response());
                return Poll::Ready(Ok(out.finish(timed_out)));
            }
            // It may be waiting for a connection to a database that is gone.
            out.state.store.health().suspect();
            *slow = true;
            timer.as_mut().reset((out.started + TIMEOUT).into());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::{get, post};
    use mypage_domain::clock::FixedClock;
    use tower::ServiceExt as _;

    use super::*;
    use crate::config::{Layers, MailTransport, Secret};

    /// The service's state on a SQLite database of its own, in a folder the test removes.
    async fn state(dir: &std::path::Path) -> AppState {
        let mut settings = Layers::defaults().settings().unwrap();
        settings.database_url = crate::config::DatabaseUrl::new(format!("sqlite://{}", dir.join("t.db").display()));
        settings.data_dir = dir.to_path_buf();
        settings.mail = MailTransport::File(dir.join("mail"));
        settings.secret = Some(Secret("edge test secret".to_owned()));
        let clock = Arc::new(FixedClock::new(jiff::Timestamp::from_second(1_790_000_000).unwrap()));
        crate::startup::build_state(settings, clock).await.unwrap()
    }

    fn app(state: &AppState, ran: Arc<AtomicBool>) -> Router {
        #[allow(clippy::panic)]
        async fn panics() -> &'static str {
            panic!("a bug in a handler")
        }
        Router::new()
            .route("/panics", get(panics))
            .route("/waits", get(std::future::pending::<&'static str>))
            .route(
                "/changes",
                post(move || async move {
                    ran.store(true, Ordering::SeqCst);
                    "changed"
                }),
            )
            .layer(EdgeLayer::new(state.clone(), Arc::default()))
    }

    fn english(path: &str) -> axum::http::request::Builder {
        Request::builder().uri(path).header(header::ACCEPT_LANGUAGE, "en")
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_panic_a_hang_and_a_cross_site_post_get_pages_with_the_headers_and_are_counted() {
        let dir = std::env::temp_dir().join(format!("mypage-edge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let state = state(&dir).await;
        let ran = Arc::new(AtomicBool::new(false));
        let app = app(&state, ran.clone());

        // A panic is the internal-error page, in the request's language, with every header.
        let response = app.clone().oneshot(english("/panics").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_LANGUAGE], "en");
        assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert!(body(response).await.contains(r#"<html lang="en">"#));

        // A cross-site form post is refused before the handler runs.
        let response = app
            .clone()
            .oneshot(
                english("/changes")
                    .method("POST")
                    .header(header::ORIGIN, "https://elsewhere.example")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().contains_key(header::X_FRAME_OPTIONS));
        assert!(!ran.load(Ordering::SeqCst), "the refused request reached its handler");

        // A handler that never answers is cut at the timeout (the paused clock jumps to it).
        tokio::time::pause();
        let response = app.clone().oneshot(english("/waits").body(Body::empty()).unwrap()).await.unwrap();
        tokio::time::resume();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY));

        // Each answer was counted under its route template and status.
        let metrics = state.metrics.render(&[]);
        for series in [
            r#"route="/panics",method="GET",status="500"} 1"#,
            r#"route="/changes",method="POST",status="403"} 1"#,
            r#"route="/waits",method="GET",status="408"} 1"#,
        ] {
            assert!(metrics.contains(series), "{series} not counted:\n{metrics}");
        }
        state.store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
