//! OAuth 2.0 access tokens for the cloud destinations (Google's service-account JWT grant,
//! Entra ID's client credentials): fetched when first needed, reused until shortly before they
//! expire, fetched again after the API refuses one, and fetched once for all the requests that
//! need one at the same moment.
//!
//! A token is held only as a sensitive header value: it is never formatted into a message, and
//! nothing here implements `Debug` over it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde::Deserialize;

use crate::options::HttpOptions;
use crate::reply::{quote, retry_after, Outcome};
use crate::transport::{describe, read_at_most};

/// A token is fetched again this long before it expires, so that one taken from the cache
/// outlives the request that carries it (or half its lifetime, for shorter-lived tokens).
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The lifetime assumed when a token answer states none (both Google and Entra ID issue tokens
/// for an hour); a shorter real one ends in a 401, after which the token is fetched again.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The longest lifetime believed, whatever the answer says.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The most of a token endpoint's answer read: tokens are a few kilobytes.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 << 10;

/// How a destination asks for a token.
pub(crate) trait Grant: Send + Sync + 'static {
    /// Who issues the tokens, for messages (`the Google token endpoint`).
    fn issuer(&self) -> &'static str;

    /// The token request (URL and form), built anew for each fetch; `Err` says why it cannot
    /// be built (a JWT that cannot be signed) and refuses the records.
    fn token_request(&self, client: &Client) -> Result<RequestBuilder, String>;
}

/// What a request needs from a destination that authenticates with bearer tokens.
pub(crate) trait Bearer: Send + Sync {
    /// The `Authorization` header value (`Bearer …`), from the cache or fetched; `Err` is the
    /// outcome for the records of the request (retry when the token endpoint failed, refuse
    /// when it refused the credentials).
    fn authorization<'a>(&'a self, client: &'a Client) -> Authorizing<'a>;

    /// Forgets `refused`, which the API answered 401 to, unless it was replaced meanwhile.
    fn invalidate(&self, refused: &HeaderValue);
}

/// The wait for an `Authorization` header value.
pub(crate) type Authorizing<'a> =
    Pin<Box<dyn Future<Output = Result<HeaderValue, Outcome>> + Send + 'a>>;

struct Token {
    authorization: HeaderValue,
    refresh_at: Instant,
}

/// The tokens of one destination.
pub(crate) struct TokenCache<G> {
    pub grant: G,
    current: Mutex<Option<Token>>,
    /// Held while fetching, so that requests needing a token at once share one fetch.
    fetching: tokio::sync::Mutex<()>,
}

impl<G: Grant> TokenCache<G> {
    pub fn new(grant: G) -> TokenCache<G> {
        TokenCache {
            grant,
            current: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The cached token while it is fresh.
    fn fresh(&self) -> Option<HeaderValue> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .map(|t| t.authorization.clone())
    }

    async fn fetch(&self, client: &Client) -> Result<HeaderValue, Outcome> {
        let issuer = self.grant.issuer();
        let request = self
            .grant
            .token_request(client)
            .map_err(|reason| Outcome::Reject {
                status: None,
                reason: format!("no token request for {issuer}: {reason}"),
            })?;
        let retry = |reason: String, after| Outcome::Retry {
            reason: format!("{issuer}: {reason}"),
            after,
        };
        let response = request
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| retry(describe(e), None))?;
        let (status, headers, body) = read_at_most(response, MAX_TOKEN_RESPONSE_BYTES)
            .await
            .map_err(|e| retry(describe(e), None))?;
        if !status.is_success() {
            let reason = refusal(status, &body);
            return Err(
                if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
                    retry(reason, retry_after(&headers))
                } else {
                    Outcome::Reject {
                        status: Some(status.as_u16()),
                        reason: format!("{issuer} refused the credentials: {reason}"),
                    }
                },
            );
        }
        let (authorization, lifetime) = parse_token(&body).map_err(|e| retry(e, None))?;
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        let now = Instant::now();
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(Token {
            authorization: authorization.clone(),
            refresh_at: now.checked_add(lifetime - margin).unwrap_or(now),
        });
        Ok(authorization)
    }
}

impl<G: Grant> Bearer for TokenCache<G> {
    fn authorization<'a>(&'a self, client: &'a Client) -> Authorizing<'a> {
        Box::pin(async move {
            if let Some(token) = self.fresh() {
                return Ok(token);
            }
            let _fetching = self.fetching.lock().await;
            // Another request may have fetched one while this one waited.
            match self.fresh() {
                Some(token) => Ok(token),
                None => self.fetch(client).await,
            }
        })
    }

    fn invalidate(&self, refused: &HeaderValue) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current
            .as_ref()
            .is_some_and(|t| t.authorization == *refused)
        {
            *current = None;
        }
    }
}

/// Probes an API for `siem check --connect`: fetches a token (its refusal is the probe's
/// failure), then sends the request `request` builds with it.
pub(crate) fn probe(
    options: &HttpOptions,
    timeout: Duration,
    bearer: &dyn Bearer,
    request: impl FnOnce(&Client) -> RequestBuilder + Send,
) -> Result<String, String> {
    crate::transport::probe_with(options, timeout, |client| async move {
        match bearer.authorization(&client).await {
            Ok(token) => Ok(request(&client).header(AUTHORIZATION, token)),
            Err(Outcome::Retry { reason, .. } | Outcome::Reject { reason, .. }) => Err(reason),
            Err(_) => Err("no token".to_owned()),
        }
    })
}

/// A token answer: `{"access_token": …, "token_type": "Bearer", "expires_in": 3599}`.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: Option<String>,
    /// Seconds; Entra ID's v1 endpoints write it as a string.
    expires_in: Option<serde_json::Value>,
}

/// The header value and lifetime of a token answer, or why it is not one (never quoting it:
/// it may hold a token).
fn parse_token(body: &[u8]) -> Result<(HeaderValue, Duration), String> {
    let answer: TokenAnswer = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the answer is not a token ({}, at line {} column {})",
            match e.classify() {
                serde_json::error::Category::Data => "no access_token string",
                serde_json::error::Category::Eof => "truncated JSON",
                _ => "not JSON",
            },
            e.line(),
            e.column()
        )
    })?;
    if let Some(kind) = answer.token_type.as_deref() {
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(format!(
                "the token is of type {:?}, not Bearer",
                quote(kind.as_bytes())
            ));
        }
    }
    let token = answer.access_token.trim();
    if token.is_empty() {
        return Err("the answer's access_token is empty".to_owned());
    }
    let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the access_token holds characters a header cannot carry".to_owned())?;
    authorization.set_sensitive(true);
    let seconds = match &answer.expires_in {
        None => None,
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => return Err("the answer's expires_in is not a number".to_owned()),
    };
    let lifetime = match seconds {
        None => DEFAULT_LIFETIME,
        Some(s) if s.is_finite() && s > 0.0 => {
            Duration::from_secs_f64(s.min(MAX_LIFETIME.as_secs_f64()))
        }
        Some(_) => Duration::ZERO,
    };
    Ok((authorization, lifetime))
}

/// `HTTP 401 Unauthorized: invalid_client: <description>` from an OAuth error answer, else
/// the status and the start of the body.
fn refusal(status: StatusCode, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => {
            let mut reason = format!("HTTP {status}: {}", quote(e.error.as_bytes()));
            if let Some(description) = e.error_description {
                reason.push_str(": ");
                reason.push_str(&quote(description.as_bytes()));
            }
            reason
        }
        Err(_) => crate::reply::status_reason(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_read_and_bounded() {
        let (h, life) =
            parse_token(br#"{"access_token":"ya29.abc","token_type":"Bearer","expires_in":3599}"#)
                .unwrap();
        assert_eq!(h.to_str().unwrap(), "Bearer ya29.abc");
        assert!(h.is_sensitive());
        assert_eq!(life, Duration::from_secs(3599));
        let (_, life) = parse_token(br#"{"access_token":"t","expires_in":"60"}"#).unwrap();
        assert_eq!(life, Duration::from_secs(60));
        let (_, life) = parse_token(br#"{"access_token":"t"}"#).unwrap();
        assert_eq!(life, DEFAULT_LIFETIME);
        let (_, life) = parse_token(br#"{"access_token":"t","expires_in":1e300}"#).unwrap();
        assert_eq!(life, MAX_LIFETIME);
        let (_, life) = parse_token(br#"{"access_token":"t","expires_in":-5}"#).unwrap();
        assert_eq!(life, Duration::ZERO);
    }

    #[test]
    fn wrong_answers_are_explained_without_quoting_them() {
        for (body, says) in [
            (&b"<html>oops</html>"[..], "not JSON"),
            (br#"{"token":"sekrit-1"}"#, "no access_token"),
            (br#"{"access_token":"sekrit-2""#, "truncated"),
            (
                br#"{"access_token":"sekrit-3","token_type":"mac"}"#,
                "not Bearer",
            ),
            (br#"{"access_token":"  "}"#, "empty"),
            (br#"{"access_token":"sekrit\u0001-4"}"#, "cannot carry"),
            (
                br#"{"access_token":"sekrit-5","expires_in":[]}"#,
                "expires_in",
            ),
        ] {
            let e = parse_token(body).unwrap_err();
            assert!(e.contains(says), "{e}");
            assert!(!e.contains("sekrit"), "{e}");
        }
    }

    #[test]
    fn oauth_errors_name_the_error_and_its_description() {
        let r = refusal(
            StatusCode::UNAUTHORIZED,
            br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
        );
        assert_eq!(
            r,
            "HTTP 401 Unauthorized: invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(
            refusal(StatusCode::BAD_REQUEST, b"nope"),
            "HTTP 400 Bad Request: nope"
        );
    }
}
