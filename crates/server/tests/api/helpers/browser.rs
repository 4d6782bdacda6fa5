//! A browser-like HTTP client: its own cookie jar, redirects not followed (so tests see the 303),
//! and helpers that read what a page shows.

use reqwest::redirect::Policy;

pub struct Browser {
    client: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    pub base: String,
}

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the hidden CSRF field.
    pub fn csrf(&self) -> String {
        self.input_value("csrf").unwrap_or_else(|| panic!("no csrf field in:\n{}", self.body))
    }

    /// The `value` attribute of the input named `name`.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let at = self.body.find(&marker)?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let v = tag.find("value=\"")? + 7;
        Some(html_unescape(&tag[v..v + tag[v..].find('"')?]))
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) {
        assert!(self.body.contains(text), "expected {text:?} in page (status {}):\n{}", self.status, self.body);
    }

    #[track_caller]
    pub fn assert_redirect(&self, to: &str) {
        assert_eq!((self.status, self.location.as_deref()), (303, Some(to)), "{}", self.body);
    }
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder().cookie_provider(jar.clone()).redirect(Policy::none()).build().unwrap();
        Self { client, jar, base: base.to_owned() }
    }

    /// A browser whose connections come from `local` (a loopback address like 127.0.0.2, so a
    /// proxy in front sees another client), with `localhost` pinned to 127.0.0.1.
    pub fn from_address(base: &str, local: std::net::IpAddr) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let port = base.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap();
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .local_address(local)
            .resolve("localhost", std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .build()
            .unwrap();
        Self { client, jar, base: base.to_owned() }
    }

    /// The same browser (same cookies) talking to another node at `base`: cookies are per host,
    /// and every node is on `localhost`.
    pub fn at(&self, base: &str) -> Self {
        Self { client: self.client.clone(), jar: self.jar.clone(), base: base.to_owned() }
    }

    /// The `Cookie` header this browser sends (to replay a session elsewhere).
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore as _;
        let url = self.base.parse().unwrap();
        self.jar.cookies(&url).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    async fn read(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers.get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        Page { status, location, headers, body }
    }

    /// A GET that reports a transport failure (a server that went away) instead of panicking.
    pub async fn try_get(&self, path: &str) -> Result<Page, reqwest::Error> {
        Ok(Self::read(self.client.get(format!("{}{path}", self.base)).send().await?).await)
    }

    /// A form POST that reports a transport failure instead of panicking.
    pub async fn try_post(&self, path: &str, form: &[(&str, &str)]) -> Result<Page, reqwest::Error> {
        Ok(Self::read(self.client.post(format!("{}{path}", self.base)).form(form).send().await?).await)
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(self.client.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        Self::read(request.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::read(self.client.post(format!("{}{path}", self.base)).form(form).send().await.unwrap()).await
    }

    /// Posts a raw body with the given content type (for malformed input).
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Page {
        let request = self.client.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        Self::read(request.send().await.unwrap()).await
    }

    /// Like `post_raw`, but `None` when the server closed the connection before answering.
    pub async fn try_post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Option<Page> {
        let request = self.client.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        Some(Self::read(request.send().await.ok()?).await)
    }

    pub async fn post_with_headers(&self, path: &str, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Page {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(form);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        Self::read(request.send().await.unwrap()).await
    }

    /// Opens both documents and consents; ends on the information-entry step.
    pub async fn consent(&self) {
        self.consent_to("/opening/apply").await;
    }

    /// Opens both documents and consents, expecting to be sent on to `next`.
    pub async fn consent_to(&self, next: &str) {
        let page = self.get("/opening/consent").await;
        assert_eq!(page.status, 200);
        self.get("/opening/documents/privacy").await;
        self.get("/opening/documents/terms").await;
        let done = self
            .post("/opening/consent", &[("csrf", &page.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
            .await;
        done.assert_redirect(next);
    }

    /// Submits 「必要な情報の入力」.
    pub async fn apply(&self, email: &str, number: &str, birth: (&str, &str, &str), code: &str) -> Page {
        let form = self.get("/opening/apply").await;
        assert_eq!(form.status, 200, "{}", form.body);
        self.post(
            "/opening/apply",
            &[
                ("csrf", &form.csrf()),
                ("email", email),
                ("job_seeker_number", number),
                ("birth_year", birth.0),
                ("birth_month", birth.1),
                ("birth_day", birth.2),
                ("code", code),
            ],
        )
        .await
    }

    /// Posts the login form (after loading it for its CSRF token).
    pub async fn login(&self, email: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        if form.status == 303 {
            return form;
        }
        self.post("/login", &[("csrf", &form.csrf()), ("email", email), ("password", password)]).await
    }

    /// Posts the one-time password, optionally ticking 「…省略する」.
    pub async fn submit_otp(&self, otp: &str, remember: bool) -> Page {
        let form = self.get("/login/otp").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        let mut fields = vec![("csrf", csrf.as_str()), ("otp", otp)];
        if remember {
            fields.push(("remember", "yes"));
        }
        self.post("/login/otp", &fields).await
    }

    /// Submits 「パスワード登録」.
    pub async fn register_password(&self, password: &str, confirmation: &str, key: &str) -> Page {
        let form = self.get("/opening/password").await;
        assert_eq!(form.status, 200, "{}", form.body);
        self.post(
            "/opening/password",
            &[
                ("csrf", &form.csrf()),
                ("password", password),
                ("password_confirmation", confirmation),
                ("auth_key", key),
            ],
        )
        .await
    }
}
