//! Microsoft Graph over HTTPS (ureq, rustls): the app's sign-in (client credentials, the
//! token renewed before it expires), single requests and JSON batches of up to 20, and
//! the retries Microsoft asks for: 429, 503 and 504 of a whole request here, after
//! `Retry-After` or with capped exponential back-off and jitter; those of batch items in
//! rounds by the push ([`crate::graph::push`]). Nothing else is retried.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tracing::{debug, warn};

use crate::graph::config::GraphSettings;
use crate::password::Password;

/// Most requests in one `$batch`, as Graph allows.
pub const BATCH_LIMIT: usize = 20;
/// Tries of a request (or a batch item) that Graph throttles or cannot serve.
pub const TRIES: u32 = 8;
/// Back-off without `Retry-After`: doubling from here, at most [`MAX_WAIT`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_WAIT: Duration = Duration::from_secs(60);

/// One request, alone or in a batch. `url` is relative to `{graph_url}/v1.0`, with its
/// leading `/`.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub body: Option<Value>,
}

/// Graph's answer to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Value,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `code: message` of a Graph error body, or the status.
    pub fn error(&self) -> String {
        let e = &self.body["error"];
        match (e["code"].as_str(), e["message"].as_str()) {
            (Some(c), Some(m)) => format!("{} {c}: {m}", self.status),
            _ => format!("HTTP {}", self.status),
        }
    }

    /// 429, 503 or 504: to send again later.
    pub fn retryable(&self) -> bool {
        matches!(self.status, 429 | 503 | 504)
    }
}

/// What the client did, for the summary and the bench.
#[derive(Debug, Default)]
pub struct Stats {
    /// HTTP requests sent (a batch is one).
    pub requests: AtomicU64,
    pub batches: AtomicU64,
    /// Requests and batch items sent again after 429, 503 or 504.
    pub retries: AtomicU64,
}

struct Token {
    value: Password,
    renew_at: Instant,
}

/// A signed-in Graph client, shared by the push's threads.
pub struct Client {
    agent: ureq::Agent,
    settings: GraphSettings,
    secret: Password,
    token: Mutex<Option<Token>>,
    pub stats: Stats,
}

impl Client {
    /// Reads the secret and signs in: a wrong secret or tenant is an error here, before
    /// anything is pushed (or imported).
    pub fn connect(settings: &GraphSettings) -> Result<Client> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let client = Client {
            agent,
            secret: settings.secret()?,
            settings: settings.clone(),
            token: Mutex::new(None),
            stats: Stats::default(),
        };
        client.bearer()?;
        Ok(client)
    }

    /// `Bearer <token>`, renewed when half its life or five minutes (whichever is less)
    /// are left.
    fn bearer(&self) -> Result<String> {
        let mut token = self.token.lock().expect("token lock");
        if token.as_ref().is_none_or(|t| Instant::now() >= t.renew_at) {
            *token = Some(self.sign_in()?);
        }
        Ok(format!(
            "Bearer {}",
            token.as_ref().expect("a token").value.expose()
        ))
    }

    fn forget_token(&self) {
        *self.token.lock().expect("token lock") = None;
    }

    /// `POST {login_url}/{tenant}/oauth2/v2.0/token` with the client credentials.
    fn sign_in(&self) -> Result<Token> {
        let s = &self.settings;
        let url = format!("{}/{}/oauth2/v2.0/token", s.login_url, s.tenant_id);
        let scope = format!("{}/.default", s.graph_url);
        let mut wait = FIRST_BACKOFF;
        for attempt in 1..=TRIES {
            let sent = self.agent.post(&url).send_form([
                ("client_id", s.client_id.as_str()),
                ("scope", scope.as_str()),
                ("client_secret", self.secret.expose()),
                ("grant_type", "client_credentials"),
            ]);
            let reply = match sent {
                Ok(r) => read(r),
                Err(e) if attempt < TRIES => {
                    warn!("sign-in to {} failed ({e}); trying again", s.login_url);
                    std::thread::sleep(jitter(wait));
                    wait = (wait * 2).min(MAX_WAIT);
                    continue;
                }
                Err(e) => return Err(e).with_context(|| format!("cannot reach {}", s.login_url)),
            };
            if reply.retryable() && attempt < TRIES {
                std::thread::sleep(reply.retry_after.unwrap_or_else(|| jitter(wait)));
                wait = (wait * 2).min(MAX_WAIT);
                continue;
            }
            if !reply.ok() {
                let error = reply.body["error"].as_str().unwrap_or("error");
                let description = reply.body["error_description"]
                    .as_str()
                    .and_then(|d| d.lines().next())
                    .unwrap_or("");
                bail!(
                    "Microsoft Entra refused the sign-in of app {} in tenant {} (HTTP {}): {error}: {description}",
                    s.client_id,
                    s.tenant_id,
                    reply.status
                );
            }
            let value = reply.body["access_token"]
                .as_str()
                .context("the token response has no access_token")?;
            let lifetime = Duration::from_secs(reply.body["expires_in"].as_u64().unwrap_or(3599));
            let early = (lifetime / 2).min(Duration::from_secs(300));
            debug!(seconds = lifetime.as_secs(), "signed in to Microsoft Graph");
            return Ok(Token {
                value: Password::given(value),
                renew_at: Instant::now() + lifetime - early,
            });
        }
        unreachable!("the last try returns")
    }

    /// One request, retried as Graph asks.
    pub fn call(&self, request: &Request) -> Result<Reply> {
        let mut wait = FIRST_BACKOFF;
        let mut renewed = false;
        for attempt in 1..=TRIES {
            let reply = self.send_once(request)?;
            if reply.status == 401 && !renewed {
                // The token expired early or was revoked: sign in again, once.
                self.forget_token();
                renewed = true;
                continue;
            }
            if reply.retryable() && attempt < TRIES {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(reply.retry_after.unwrap_or_else(|| jitter(wait)));
                wait = (wait * 2).min(MAX_WAIT);
                continue;
            }
            return Ok(reply);
        }
        unreachable!("the last try returns")
    }

    fn send_once(&self, request: &Request) -> Result<Reply> {
        let url = format!("{}/v1.0{}", self.settings.graph_url, request.url);
        let bearer = self.bearer()?;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut wait = FIRST_BACKOFF;
        for attempt in 1..=TRIES {
            let sent = match (request.method, &request.body) {
                ("GET", _) => self.agent.get(&url).header("Authorization", &bearer).call(),
                ("DELETE", _) => self
                    .agent
                    .delete(&url)
                    .header("Authorization", &bearer)
                    .call(),
                (method, body) => {
                    let builder = match method {
                        "PATCH" => self.agent.patch(&url),
                        _ => self.agent.post(&url),
                    };
                    builder
                        .header("Authorization", &bearer)
                        .content_type("application/json")
                        .send(body.as_ref().map_or_else(String::new, Value::to_string))
                }
            };
            match sent {
                Ok(r) => return Ok(read(r)),
                // A connection that broke or timed out: a read is tried again; anything
                // else may have been done, so it is the caller's to find out (a create
                // left `creating` is looked up by the next push).
                Err(e) if attempt < TRIES && request.method == "GET" => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    warn!(
                        "{} {} failed ({e}); trying again",
                        request.method, request.url
                    );
                    std::thread::sleep(jitter(wait));
                    wait = (wait * 2).min(MAX_WAIT);
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot reach {}", self.settings.graph_url))
                }
            }
        }
        unreachable!("the last try returns")
    }

    /// Sends `requests` (at most [`BATCH_LIMIT`]) as one JSON batch, all parallel, and
    /// returns their replies in order. The batch itself is retried as any request is;
    /// its items that Graph throttled or could not serve are returned as they are, for
    /// the caller to send again with others ([`Reply::retryable`]): Microsoft's advice
    /// is to retry them in a new batch after the longest `Retry-After`.
    pub fn batch(&self, requests: &[Request]) -> Result<Vec<Reply>> {
        assert!(requests.len() <= BATCH_LIMIT);
        let items: Vec<Value> = requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut item = json!({"id": i.to_string(), "method": r.method, "url": r.url});
                if let Some(body) = &r.body {
                    item["body"] = body.clone();
                    item["headers"] = json!({"Content-Type": "application/json"});
                }
                item
            })
            .collect();
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        let outer = self.call(&Request {
            method: "POST",
            url: "/$batch".to_string(),
            body: Some(json!({ "requests": items })),
        })?;
        if !outer.ok() {
            bail!("Microsoft Graph refused a batch: {}", outer.error());
        }
        let mut replies: Vec<Reply> = vec![
            // An item Graph did not answer is sent again.
            Reply {
                status: 503,
                retry_after: None,
                body: json!({"error": {"code": "serviceNotAvailable", "message": "no answer to this request in the batch"}}),
            };
            requests.len()
        ];
        for item in outer.body["responses"].as_array().into_iter().flatten() {
            let Some(i) = item["id"].as_str().and_then(|id| id.parse::<usize>().ok()) else {
                continue;
            };
            if let Some(slot) = replies.get_mut(i) {
                *slot = Reply {
                    status: item["status"].as_u64().unwrap_or(0) as u16,
                    retry_after: header(&item["headers"], "retry-after")
                        .and_then(parse_retry_after),
                    body: item["body"].clone(),
                };
            }
        }
        Ok(replies)
    }

    /// Counts `n` batch items sent again.
    pub fn count_retries(&self, n: usize) {
        self.stats.retries.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// How long to wait before the `round`-th try (from 1) of what Graph throttled without
/// saying how long: exponential from 0.5 s, at most a minute, with jitter.
pub fn backoff(round: u32) -> Duration {
    jitter((FIRST_BACKOFF * 2u32.saturating_pow(round.saturating_sub(1).min(8))).min(MAX_WAIT))
}

/// A response's status, `Retry-After` and JSON body (`null` when empty or not JSON).
fn read(mut r: ureq::http::Response<ureq::Body>) -> Reply {
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let text = r.body_mut().read_to_string().unwrap_or_default();
    Reply {
        status,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// A header of a batch item (names in any case).
fn header<'v>(headers: &'v Value, name: &str) -> Option<&'v str> {
    headers
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// Seconds, possibly with a fraction (Graph has sent `2.128`), at most [`MAX_WAIT`].
fn parse_retry_after(text: &str) -> Option<Duration> {
    let seconds: f64 = text.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds).min(MAX_WAIT))
}

/// `wait`, give or take a quarter, so that clients throttled together do not return
/// together.
fn jitter(wait: Duration) -> Duration {
    use rand::Rng;
    wait.mul_f64(rand::rng().random_range(0.75..1.25))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_fractions_and_is_capped() {
        assert_eq!(
            parse_retry_after("2.128"),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after(" 10 "), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("86400"), Some(MAX_WAIT));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
