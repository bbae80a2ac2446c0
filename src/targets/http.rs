//! The one way rollcall talks HTTP: a client-side rate limit, retries with exponential
//! backoff and jitter for 429, 5xx and transport failures (honouring `Retry-After`), a
//! bounded number of attempts, and errors that carry the service's code and incident id.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::redact::redact;

/// Spaces requests at most `rate` per second across every task that shares it. When the
/// service answers 429 it slows down for everyone (half the rate, at most once a second since
/// answers to requests in flight together come together; and nobody starts a request before
/// its `Retry-After`), then speeds up again with each success, back to `rate`: a
/// service that limits below `rate` (another client sharing the account's quota) gets a
/// steady pace instead of retries that run out of attempts.
pub struct RateLimiter {
    /// The configured spacing.
    interval: Duration,
    state: Mutex<Pace>,
}

struct Pace {
    next: Instant,
    /// The spacing in force: `interval`, or longer after 429s.
    interval: Duration,
    /// No further slowing down before this.
    calm_until: Instant,
}

/// Spacing after a 429: twice as long, at most 64 times the configured one.
fn slower(current: Duration, configured: Duration) -> Duration {
    (current * 2).min(configured * 64)
}

/// Spacing after a success: 5 % shorter, not below the configured one.
fn faster(current: Duration, configured: Duration) -> Duration {
    current.mul_f64(0.95).max(configured)
}

impl RateLimiter {
    pub fn new(per_second: f64) -> Self {
        let per_second = if per_second.is_finite() && per_second > 0.0 { per_second } else { 10.0 };
        let interval = Duration::try_from_secs_f64(1.0 / per_second).unwrap_or(Duration::from_secs(10));
        let now = Instant::now();
        RateLimiter { interval, state: Mutex::new(Pace { next: now, interval, calm_until: now }) }
    }

    pub async fn wait(&self) {
        let slot = {
            let mut pace = self.state.lock().await;
            let now = Instant::now();
            let slot = pace.next.max(now);
            pace.next = slot + pace.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// The service said 429: slow down, and start nothing before `hold` from now.
    pub async fn throttled(&self, hold: Duration) {
        let mut pace = self.state.lock().await;
        let now = Instant::now();
        if now >= pace.calm_until {
            pace.interval = slower(pace.interval, self.interval);
            pace.calm_until = now + Duration::from_secs(1);
        }
        pace.next = pace.next.max(now + hold);
    }

    /// A request got through: speed up towards the configured rate.
    pub async fn succeeded(&self) {
        let mut pace = self.state.lock().await;
        if pace.interval > self.interval {
            pace.interval = faster(pace.interval, self.interval);
        }
    }
}

/// A failed request, after retries.
#[derive(Debug, Clone)]
pub struct HttpError {
    pub status: Option<u16>,
    /// The service's error code (GoTo `errors[0].code`, SCIM `scimType`).
    pub code: Option<String>,
    pub incident: Option<String>,
    pub message: String,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(c) = &self.code {
            write!(f, " [{c}]")?;
        }
        Ok(())
    }
}

impl HttpError {
    fn from_response(status: StatusCode, body: &str, what: &str) -> Self {
        let json: Option<Value> = serde_json::from_str(body).ok();
        // GoTo `errors[0]`, SCIM `scimType`/`detail`, Microsoft Graph `error: {code, message}`,
        // OAuth `error_description`.
        let code = json.as_ref().and_then(|v| {
            v.pointer("/errors/0/code")
                .or_else(|| v.get("scimType"))
                .or_else(|| v.pointer("/error/code"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let detail = json.as_ref().and_then(|v| {
            v.pointer("/errors/0/value")
                .or_else(|| v.pointer("/error/message"))
                .or_else(|| v.get("detail"))
                .or_else(|| v.get("message"))
                .or_else(|| v.get("error_description"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let incident = json
            .as_ref()
            .and_then(|v| v.get("incidentId").or_else(|| v.pointer("/error/innerError/request-id")))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut message = format!("{what}: HTTP {}", status.as_u16());
        if let Some(reason) = status.canonical_reason() {
            message.push(' ');
            message.push_str(reason);
        }
        match detail {
            Some(d) => {
                message.push_str(": ");
                message.push_str(&d);
            }
            None if json.is_none() && !body.trim().is_empty() => {
                let snippet: String = body.trim().chars().take(200).collect();
                message.push_str(": ");
                message.push_str(&snippet);
            }
            None => {}
        }
        HttpError {
            status: Some(status.as_u16()),
            code: code.map(|c| redact(&c).into_owned()),
            incident: incident.map(|i| redact(&i).into_owned()),
            message: redact(&message).into_owned(),
        }
    }

    fn transport(e: &reqwest::Error, what: &str) -> Self {
        // reqwest's messages carry the URL, never headers or bodies: no secret leaks here.
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "connection failed"
        };
        let message = format!("{what}: {kind} ({})", without_url(e));
        HttpError { status: None, code: None, incident: None, message: redact(&message).into_owned() }
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "URL");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// One request to make, rebuilt for every attempt.
pub struct Request {
    pub method: Method,
    pub url: String,
    pub bearer: Option<secrecy::SecretString>,
    pub basic: Option<(String, secrecy::SecretString)>,
    pub json: Option<Value>,
    pub form: Option<String>,
    /// For messages: "list users", "create 50 users", ...
    pub what: String,
    /// Give a successful answer's text as it came (`Response::text`), for a caller that reads
    /// it into its own types; `body` is then null.
    pub raw: bool,
}

pub struct Response {
    pub status: u16,
    pub body: Value,
    pub etag: Option<String>,
    /// The answer's text, when the request asked for it (`Request::raw`).
    pub text: Option<String>,
}

/// Requests in flight at once, at least (the rate limiter still spaces them).
const CONCURRENCY: usize = 8;
/// ... and at most, however high `requests_per_second` is.
const MAX_CONCURRENCY: usize = 64;

/// Requests in flight at once: enough to keep to the rate while a round trip takes up to a
/// quarter of a second (GoTo's 10 requests/s: 8 in flight).
fn concurrency(requests_per_second: f64) -> usize {
    let wanted = (requests_per_second * 0.25).ceil();
    if wanted.is_finite() { (wanted as usize).clamp(CONCURRENCY, MAX_CONCURRENCY) } else { CONCURRENCY }
}

pub struct Http {
    /// Requests in flight at once, for the rate: what the targets' runner keeps going.
    pub concurrency: usize,
    /// API calls: redirects followed only to the same https origin.
    client: reqwest::Client,
    /// Requests that carry credentials (the token exchange): never redirected.
    token_client: reqwest::Client,
    pub limiter: RateLimiter,
    pub max_attempts: u32,
    seed: std::sync::atomic::AtomicU64,
    /// When recording (`check --probe --record`): every exchange, secrets redacted.
    recorded: std::sync::Mutex<Option<Vec<Value>>>,
}

/// Tokens and credentials in a recorded body, replaced by `[redacted]`.
fn redacted(v: Value) -> Value {
    const SECRET: [&str; 7] =
        ["access_token", "refresh_token", "id_token", "pat", "client_secret", "password", "authorization"];
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let secret = SECRET.iter().any(|s| k.eq_ignore_ascii_case(s));
                    (k, if secret { Value::String("[redacted]".into()) } else { redacted(v) })
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(redacted).collect()),
        other => other,
    }
}

impl Http {
    pub fn new(requests_per_second: f64) -> Result<Self, String> {
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("rollcall/", env!("CARGO_PKG_VERSION")))
                .timeout(Duration::from_secs(60))
                .connect_timeout(Duration::from_secs(15))
        };
        let client = builder()
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let same_origin = attempt.previous().first().is_some_and(|first| {
                    first.scheme() == attempt.url().scheme()
                        && first.host_str() == attempt.url().host_str()
                        && first.port_or_known_default() == attempt.url().port_or_known_default()
                });
                if attempt.previous().len() > 5 {
                    attempt.error("too many redirects")
                } else if same_origin && attempt.url().scheme() == "https" {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {e}"))?;
        let token_client = builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {e}"))?;
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64);
        Ok(Http {
            concurrency: concurrency(requests_per_second),
            client,
            token_client,
            limiter: RateLimiter::new(requests_per_second),
            max_attempts: 8,
            seed: std::sync::atomic::AtomicU64::new(seed | 1),
            recorded: std::sync::Mutex::new(None),
        })
    }

    fn jitter(&self) -> f64 {
        // xorshift: jitter needs no cryptographic randomness.
        let mut x = self.seed.load(std::sync::atomic::Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.store(x, std::sync::atomic::Ordering::Relaxed);
        (x % 10_000) as f64 / 10_000.0
    }

    /// Starts recording every exchange (secrets redacted), for `check --probe --record`.
    pub fn start_recording(&self) {
        *self.recorded.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
    }

    /// The exchanges recorded so far (empty when not recording).
    pub fn recorded(&self) -> Vec<Value> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default()
    }

    fn record(&self, req: &Request, status: Option<u16>, text: &str) {
        let mut rec = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        let Some(rec) = rec.as_mut() else { return };
        let response = serde_json::from_str::<Value>(text).map_or_else(|_| Value::String(text.to_owned()), redacted);
        rec.push(serde_json::json!({
            "what": req.what,
            "method": req.method.as_str(),
            "url": req.url,
            // Form bodies are token exchanges: they carry the PAT or the refresh token.
            "request": if req.form.is_some() { Value::String("[redacted]".into()) } else { req.json.clone().map(redacted).unwrap_or(Value::Null) },
            "status": status,
            "response": response,
        }));
    }

    /// Sends with retries. `Ok` for 2xx; `Err` for anything else after the last attempt.
    pub async fn send(&self, req: &Request) -> Result<Response, HttpError> {
        self.send_with(req, &[]).await
    }

    /// A write whose outcome must be settled before it is sent again: retried only when it
    /// surely did not happen (429, or no connection made); a 5xx or a lost answer comes back
    /// at once as an error for the caller to settle by reading back.
    pub async fn send_write(&self, req: &Request) -> Result<Response, HttpError> {
        self.send_inner(req, &[], false).await
    }

    /// `send` with extra headers (SCIM's `If-Match`, `Content-Type: application/scim+json`);
    /// an `Accept` among them replaces the default one.
    pub async fn send_with(&self, req: &Request, headers: &[(&str, &str)]) -> Result<Response, HttpError> {
        self.send_inner(req, headers, true).await
    }

    async fn send_inner(
        &self,
        req: &Request,
        headers: &[(&str, &str)],
        retry_unsure: bool,
    ) -> Result<Response, HttpError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.wait().await;
            let started = std::time::Instant::now();
            let sent = self.builder(req, headers)?.send().await;
            if crate::progress::verbosity() > 0 {
                log(req, &sent, started, attempt);
            }
            let (retry, err, after) = match sent {
                Ok(resp) => match self.answer(req, resp, retry_unsure).await {
                    Ok(response) => return Ok(response),
                    Err(failure) => failure,
                },
                Err(e) => {
                    self.record(req, None, "[no answer]");
                    (retry_unsure || e.is_connect(), HttpError::transport(&e, &req.what), None)
                }
            };
            if !retry || attempt >= self.max_attempts {
                let mut err = err;
                if retry {
                    err.message.push_str(&format!(" (gave up after {attempt} attempts)"));
                }
                return Err(err);
            }
            // Exponential backoff with full jitter, at least what Retry-After asks, at most a minute.
            let base = 0.25 * 2f64.powi(attempt as i32 - 1);
            let backoff = Duration::from_secs_f64((base * (0.5 + self.jitter())).min(30.0));
            let wait = after.map_or(backoff, |a| a.min(Duration::from_secs(60)).max(backoff / 4));
            if err.status == Some(429) {
                self.limiter.throttled(after.unwrap_or_default().min(Duration::from_secs(60))).await;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt at `req`, ready to send: headers, credentials, body.
    fn builder(&self, req: &Request, headers: &[(&str, &str)]) -> Result<reqwest::RequestBuilder, HttpError> {
        let client = if carries_credentials(req) { &self.token_client } else { &self.client };
        let mut b = client.request(req.method.clone(), &req.url);
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("accept")) {
            b = b.header("Accept", "application/json");
        }
        // Before the body, so that `.json()` keeps a Content-Type given here.
        for (name, value) in headers {
            b = b.header(*name, *value);
        }
        if let Some(token) = &req.bearer {
            let mut v = reqwest::header::HeaderValue::from_str(&format!(
                "Bearer {}",
                secrecy::ExposeSecret::expose_secret(token)
            ))
            .map_err(|_| HttpError {
                status: None,
                code: None,
                incident: None,
                message: "the access token is not a valid header value".into(),
            })?;
            v.set_sensitive(true);
            b = b.header(reqwest::header::AUTHORIZATION, v);
        }
        if let Some((user, pass)) = &req.basic {
            b = b.basic_auth(user, Some(secrecy::ExposeSecret::expose_secret(pass)));
        }
        if let Some(json) = &req.json {
            b = b.json(json);
        }
        if let Some(form) = &req.form {
            b = b.header("Content-Type", "application/x-www-form-urlencoded").body(form.clone());
        }
        Ok(b)
    }

    /// The service's answer: the response for a 2xx, else whether to try again, the error
    /// and how long the service asked to wait (`Retry-After`).
    async fn answer(
        &self,
        req: &Request,
        resp: reqwest::Response,
        retry_unsure: bool,
    ) -> Result<Response, (bool, HttpError, Option<Duration>)> {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let etag = resp.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = resp.text().await;
        if let Ok(t) = &text {
            self.record(req, Some(status.as_u16()), t);
        }
        match text {
            Ok(text) if status.is_success() => {
                self.limiter.succeeded().await;
                if req.raw {
                    return Ok(Response { status: status.as_u16(), body: Value::Null, etag, text: Some(text) });
                }
                let body = if text.trim().is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&text).unwrap_or(Value::String(text))
                };
                Ok(Response { status: status.as_u16(), body, etag, text: None })
            }
            Ok(text) => {
                let retry = status == StatusCode::TOO_MANY_REQUESTS || (status.is_server_error() && retry_unsure);
                let mut err = HttpError::from_response(status, &text, &req.what);
                if status.is_redirection() {
                    err.message.push_str(if carries_credentials(req) {
                        " (rollcall never follows a redirect from the token endpoint: it would re-send the credentials)"
                    } else {
                        " (rollcall follows redirects only to the same https origin)"
                    });
                }
                Err((retry, err, retry_after))
            }
            Err(e) => Err((retry_unsure, HttpError::transport(&e, &req.what), None)),
        }
    }
}

/// `-v`: one line per attempt. The URL carries no secret (tokens travel in headers and form
/// bodies, never logged).
fn log(req: &Request, sent: &Result<reqwest::Response, reqwest::Error>, started: std::time::Instant, attempt: u32) {
    let outcome = match sent {
        Ok(r) => r.status().as_u16().to_string(),
        Err(e) if e.is_timeout() => "timeout".to_owned(),
        Err(_) => "connection error".to_owned(),
    };
    eprintln!(
        "{} {} -> {outcome} ({} ms, attempt {attempt})",
        req.method,
        redact(&req.url),
        started.elapsed().as_millis()
    );
}

/// A request whose body or Basic header holds credentials (the OAuth token exchange): a
/// redirect would re-send them to wherever the server points.
fn carries_credentials(req: &Request) -> bool {
    req.basic.is_some() || req.form.is_some()
}

/// Percent-encodes a query value with `%20` for spaces (GoTo rejects `+`).
pub fn encode(value: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(value, SET).to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn a_429_halves_the_rate_and_successes_bring_it_back() {
        let configured = Duration::from_millis(100);
        let mut pace = super::slower(configured, configured);
        assert_eq!(pace, Duration::from_millis(200));
        for _ in 0..10 {
            pace = super::slower(pace, configured);
        }
        assert_eq!(pace, configured * 64, "at most 64 times slower");
        let mut successes = 0;
        while pace > configured {
            pace = super::faster(pace, configured);
            successes += 1;
        }
        assert_eq!(pace, configured, "never faster than configured");
        assert!((60..100).contains(&successes), "{successes} successes from 64x back to the rate");
    }

    #[test]
    fn writes_in_flight_follow_the_rate() {
        assert_eq!(super::concurrency(10.0), 8, "GoTo's documented rate");
        assert_eq!(super::concurrency(100.0), 25);
        assert_eq!(super::concurrency(2000.0), 64);
        assert_eq!(super::concurrency(f64::INFINITY), 8);
    }

    #[test]
    fn a_rate_too_small_for_a_duration_does_not_panic() {
        let _ = super::RateLimiter::new(1e-300);
    }

    #[test]
    fn recorded_bodies_carry_no_token() {
        let v = serde_json::json!({"access_token": "at", "nested": [{"refresh_token": "rt", "email": "a@x"}], "scope": "identity:"});
        let r = super::redacted(v);
        assert_eq!(r["access_token"], "[redacted]");
        assert_eq!(r["nested"][0]["refresh_token"], "[redacted]");
        assert_eq!(r["nested"][0]["email"], "a@x");
        assert_eq!(r["scope"], "identity:");
    }

    #[test]
    fn filters_encode_spaces_as_percent_20() {
        assert_eq!(super::encode("email eq \"a+b@x.example\""), "email%20eq%20%22a%2Bb%40x.example%22");
    }
}
