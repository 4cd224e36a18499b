//! `Idempotency-Key` on creating requests: the first response is stored and replayed
//! byte for byte to retries of the same request by the same caller, for 24 hours.

use std::{fmt, fmt::Write as _, future::Future, sync::Arc, time::Duration};

use actix_web::{
    HttpRequest, HttpResponse, ResponseError as _,
    body::{self, BoxBody},
    http::{
        StatusCode,
        header::{self, HeaderName, HeaderValue},
    },
};
use hmac::{Hmac, Mac as _};
use roster_domain::{
    Actor,
    ports::{IdempotencyKey, IdempotencyStore, Reservation, StoredResponse},
};
use sha2::Sha256;

use crate::{caller::TrustedProxies, error::ApiError};

static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
static REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// How long a first response is replayed.
const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// A reservation pending this long belongs to a request that died: retries take over.
const ABANDONED_AFTER: Duration = Duration::from_secs(5 * 60);
/// The longest key accepted.
const MAX_KEY_LEN: usize = 255;
/// The headers a replay repeats; the rest (ids, dates, trace context) are per request.
const REPLAYED_HEADERS: [header::HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::ETAG,
    header::CACHE_CONTROL,
];

/// The store, and the secret that keys request fingerprints: bodies hold passwords,
/// so only a keyed hash of them is ever stored. The secret is the store's own (shared
/// by every replica), read once, when the first keyed request comes: the database may
/// not be migrated yet when the server starts.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    /// HMAC-SHA256, keyed with the store's secret; cloned for each fingerprint.
    mac: Arc<tokio::sync::OnceCell<Hmac<Sha256>>>,
}

impl fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idempotency").finish_non_exhaustive()
    }
}

impl Idempotency {
    pub fn new(store: Arc<dyn IdempotencyStore>) -> Self {
        Self {
            store,
            mac: Arc::default(),
        }
    }

    /// The keyed MAC: the store's secret, or a fresh random one that becomes it.
    async fn keyed(&self) -> Result<Hmac<Sha256>, ApiError> {
        let mac = self
            .mac
            .get_or_try_init(|| async {
                let mut candidate = [0_u8; 32];
                getrandom::fill(&mut candidate).map_err(|e| {
                    ApiError::Internal(anyhow::anyhow!("no randomness for a secret: {e}"))
                })?;
                let secret = self.store.fingerprint_secret(candidate).await?;
                Hmac::<Sha256>::new_from_slice(&secret).map_err(|e| {
                    ApiError::Internal(anyhow::anyhow!(
                        "cannot key the idempotency fingerprints: {e}"
                    ))
                })
            })
            .await?;
        Ok(mac.clone())
    }

    /// Runs `handle` once per (caller, key): a retry with the same body gets the first
    /// response again (with `Idempotent-Replayed: true`), with another body 422, and
    /// while the first still runs 409. Without the header, `handle` just runs.
    /// Server errors and "retry later" answers are not stored, so a retry runs again;
    /// nor are an anonymous caller's client errors, so that nobody can fill the store
    /// with refusals (a retry is refused again the same way).
    pub(crate) async fn run<F>(
        &self,
        request: &HttpRequest,
        actor: &Actor,
        body: &[u8],
        handle: F,
    ) -> Result<HttpResponse, ApiError>
    where
        F: Future<Output = Result<HttpResponse, ApiError>>,
    {
        let Some(key) = request_key(request)? else {
            return handle.await;
        };
        let key = IdempotencyKey {
            scope: scope(request, actor),
            key,
        };
        let fingerprint = Self::fingerprint(self.keyed().await?, request, body);
        let now = chrono::Utc::now();
        let reservation = self
            .store
            .reserve(
                &key,
                &fingerprint,
                now,
                now - chrono::Duration::from_std(ABANDONED_AFTER).unwrap_or_default(),
                now + chrono::Duration::from_std(RETENTION).unwrap_or_default(),
            )
            .await?;
        match reservation {
            Reservation::Replay(stored) => Ok(replay(&stored)),
            Reservation::Mismatch => Err(ApiError::IdempotencyKeyReused),
            Reservation::InProgress => Err(ApiError::IdempotencyKeyInUse),
            Reservation::Reserved => {
                let response = handle.await.unwrap_or_else(|error| error.error_response());
                let keep_client_errors = !matches!(actor, Actor::Anonymous);
                self.remember(&key, response, keep_client_errors).await
            }
        }
    }

    /// Stores `response` for replays (or releases the key), and returns it.
    async fn remember(
        &self,
        key: &IdempotencyKey,
        response: HttpResponse,
        keep_client_errors: bool,
    ) -> Result<HttpResponse, ApiError> {
        let status = response.status();
        let retryable = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
        if retryable || (status.is_client_error() && !keep_client_errors) {
            if let Err(error) = self.store.release(key).await {
                tracing::warn!(%error, "cannot release an idempotency key");
            }
            return Ok(response);
        }
        let (response, body) = response.into_parts();
        let bytes = body::to_bytes(body)
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot buffer the response: {e}")))?;
        let stored = StoredResponse {
            status: status.as_u16(),
            headers: REPLAYED_HEADERS
                .iter()
                .filter_map(|name| {
                    let value = response.headers().get(name)?.to_str().ok()?;
                    Some((name.as_str().to_owned(), value.to_owned()))
                })
                .collect(),
            body: bytes.to_vec(),
        };
        if let Err(error) = self.store.complete(key, &stored).await {
            // The effect happened; only replays are lost. Answer, and say so.
            tracing::warn!(%error, "cannot store the response of an idempotent request");
        }
        Ok(response.set_body(BoxBody::new(bytes)))
    }

    /// A keyed hash of the method, the path and the body.
    fn fingerprint(mut mac: Hmac<Sha256>, request: &HttpRequest, body: &[u8]) -> String {
        for part in [
            request.method().as_str().as_bytes(),
            request.path().as_bytes(),
            body,
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize()
            .into_bytes()
            .iter()
            .fold(String::with_capacity(64), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            })
    }
}

/// The request's key, if it sent one; 400 when it is not 1 to 255 visible characters.
pub(crate) fn request_key(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|key| (1..=MAX_KEY_LEN).contains(&key.len()))
        .filter(|key| key.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Idempotency-Key: must be 1 to {MAX_KEY_LEN} visible ASCII characters"
            ))
        })?;
    Ok(Some(key.to_owned()))
}

/// Keys are the caller's own: the user, or for anonymous callers their address.
fn scope(request: &HttpRequest, actor: &Actor) -> String {
    match actor {
        Actor::User(session) => format!("user:{}", session.user_id),
        Actor::System => "system".to_owned(),
        Actor::Anonymous => {
            let address = request
                .app_data::<actix_web::web::Data<TrustedProxies>>()
                .and_then(|proxies| proxies.client_address(request))
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
            format!("client:{address}")
        }
    }
}

fn replay(stored: &StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.insert_header((name, value));
        }
    }
    response.insert_header((REPLAYED.clone(), HeaderValue::from_static("true")));
    response.body(stored.body.clone())
}
