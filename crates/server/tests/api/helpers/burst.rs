//! Bursts: requests prepared one by one (forms loaded, CSRF tokens read), then released
//! together by a barrier, so the server sees them truly in parallel.

use std::sync::Arc;

use super::Browser;
use super::browser::Page;

/// One request of a burst, ready to send.
pub struct Prepared {
    pub browser: Browser,
    pub path: String,
    pub form: Vec<(String, String)>,
}

impl Prepared {
    pub fn new(browser: Browser, path: &str, form: &[(&str, &str)]) -> Self {
        let form = form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Self { browser, path: path.to_owned(), form }
    }
}

/// Sends every request at once (a barrier releases them together); the pages in order.
pub async fn release_together(requests: Vec<Prepared>) -> Vec<Page> {
    let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|r| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let form: Vec<(&str, &str)> = r.form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                barrier.wait().await;
                r.browser.post(&r.path, &form).await
            })
        })
        .collect();
    let mut pages = Vec::new();
    for t in tasks {
        pages.push(t.await.unwrap());
    }
    pages
}

/// How many pages satisfy `pred`.
pub fn count(pages: &[Page], pred: impl Fn(&Page) -> bool) -> usize {
    pages.iter().filter(|p| pred(p)).count()
}
