//! Who may come in: the `Host` and `Origin` checks, the token, and the bound on request bodies,
//! as middleware in front of every route (see [`crate::server`] for the order).
//!
//! - **Host** (against DNS rebinding: a page of `evil.example` whose name now resolves to this
//!   machine still sends `Host: evil.example`): the name, port aside, must be `localhost`,
//!   `127.0.0.1`, `[::1]`, the listen address (on `0.0.0.0` / `[::]`: the address the client
//!   reached), this machine's host name (also with `.local`), or an allowed host. No `Host`,
//!   or one that does not parse: 403 `forbidden_host`. Two `Host` headers: 400
//!   `invalid_request` (RFC 9112, 3.2).
//! - **Origin** (against cross-site requests from a browser): a request that carries an
//!   `Origin` must come from the server's own origin or an allowed origin, else 403
//!   `forbidden_origin`. The own origin is `http://` or `https://` (a TLS reverse proxy in
//!   front) with the request's accepted `Host`: the same host and the same port (a port left
//!   out is the scheme's, 80 or 443). Only allowed origins get CORS headers.
//! - **Token** (when set): `Authorization: Bearer T`, the password of HTTP Basic (any user
//!   name: what ASCOM Alpaca clients send) or the cookie that `GET /?token=T` sets before it
//!   redirects to `/`; compared in constant time. The cookie does not hold the token but a
//!   value made from it ([`cookie_value`]): cookies go to every port of a host, and a service
//!   on another port that receives it gets nothing it could send as a Bearer or Basic token.
//!   `?token=` counts on `GET /` only, so that it never has to appear in a URL that is shared
//!   or logged. Tokens are never logged.
//!   A 401 challenges with `Bearer` and `Basic`, but with `Bearer` only for a browser's script
//!   or subresource request (`Sec-Fetch-Mode` other than `navigate`): a `Basic` challenge there
//!   would hold the web page's request behind the browser's password dialog.
//! - **Connections**: a 401, 403 or 413 answer closes its connection (`Connection: close`), so
//!   a client without the token cannot keep a connection (and a place under
//!   `limits.connections`) by asking again and again.
//! - **Bodies**: a declared length beyond `limits.body_bytes` is refused at once with 413
//!   `body_too_large`, whether or not a handler would read the body; a body without a declared
//!   length stops at the limit in the extractor that reads it (axum's `DefaultBodyLimit`, set
//!   to the same bound: handlers read bodies only through extractors), and whatever 413 the
//!   extractor then answers is given the one error shape.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Where a connection came in: put into every request's extensions by the accept loop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnInfo {
    /// The address the client reached (on a wildcard listen, one of this machine's).
    pub(crate) local: SocketAddr,
}

/// What the checks compare against, built once at bind.
#[derive(Debug)]
pub(crate) struct Security {
    token: Option<Token>,
    /// The name of the cookie `GET /?token=` sets ([`cookie_name`]).
    cookie: String,
    /// The cookie's value ([`cookie_value`]), when there is a token.
    cookie_value: Option<Token>,
    /// Host names accepted (lower case, no trailing dot).
    names: HashSet<String>,
    /// Addresses accepted in `Host`, besides the loopback ones and the one a client reached.
    ips: HashSet<IpAddr>,
    /// Allowed origins, lower case, no trailing `/`.
    origins: HashSet<String>,
    /// The largest request body.
    body_bytes: usize,
}

/// The token, kept out of `Debug`.
struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Security {
    /// The checks for a server listening on `listen` (its actual port).
    pub(crate) fn new(config: &crate::ServerConfig, listen: SocketAddr) -> Security {
        let mut names: HashSet<String> = HashSet::from(["localhost".to_string()]);
        let mut ips: HashSet<IpAddr> = HashSet::from([
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
        if !listen.ip().is_unspecified() {
            ips.insert(listen.ip().to_canonical());
        }
        if let Some(name) = this_host_name() {
            names.insert(format!("{name}.local"));
            names.insert(name);
        }
        for h in &config.allow_hosts {
            match parse_host(h) {
                Some((Host::Ip(ip), _)) => {
                    ips.insert(ip);
                }
                Some((Host::Name(n), _)) => {
                    names.insert(n);
                }
                // Refused at bind (`check_config`).
                None => {}
            }
        }
        let cookie = cookie_name(listen.port());
        Security {
            token: config.token.clone().map(Token),
            cookie_value: config
                .token
                .as_deref()
                .map(|t| Token(cookie_value(&cookie, t))),
            cookie,
            names,
            ips,
            origins: config
                .allow_origins
                .iter()
                .map(|o| normal_origin(o))
                .collect(),
            body_bytes: config.limits.body_bytes,
        }
    }

    /// True when `Host` (or a request target's authority) names this server.
    fn host_allowed(&self, value: &str, conn: Option<&ConnInfo>) -> bool {
        match parse_host(value) {
            Some((Host::Ip(ip), _)) => {
                self.ips.contains(&ip) || conn.is_some_and(|c| c.local.ip().to_canonical() == ip)
            }
            Some((Host::Name(n), _)) => self.names.contains(&n),
            None => false,
        }
    }

    /// True when a presented token is the server's (constant time for tokens of its length).
    fn token_matches(&self, presented: &str) -> bool {
        self.token
            .as_ref()
            .is_some_and(|t| bool::from(t.0.as_bytes().ct_eq(presented.as_bytes())))
    }

    /// True when a credential the request presents opens the server: the token as Bearer or
    /// Basic password, the cookie's value as the cookie (each only where it belongs).
    fn admits(&self, credential: &Credential) -> bool {
        match credential {
            Credential::Token(t) => self.token_matches(t),
            Credential::Cookie(v) => self
                .cookie_value
                .as_ref()
                .is_some_and(|c| bool::from(c.0.as_bytes().ct_eq(v.as_bytes()))),
        }
    }
}

/// How long the browser keeps the cookie `GET /?token=` sets, in seconds: 30 days.
pub(crate) const COOKIE_MAX_AGE_S: u32 = 30 * 24 * 60 * 60;

/// The name of the cookie `GET /?token=` sets on a server listening on `port`: the port is in
/// the name because cookies are not kept apart by port, and two servers on one machine must
/// not overwrite each other's.
pub(crate) fn cookie_name(port: u16) -> String {
    format!("sonyctl-token-{port}")
}

/// The cookie's value for `token`: SHA-256 of `NAME=TOKEN` (the cookie's name, so the value of
/// one server's cookie opens no other), lowercase hex. A browser sends the cookie to every
/// port of the host; whoever listens there gets this value, which the server takes only as
/// its cookie and never as a Bearer or Basic token, and which does not give the token back.
fn cookie_value(name: &str, token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"=")
        .chain_update(token.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is wrong with the security part of a configuration, if anything: a token that is not
/// URL-safe, an allowed host or origin that does not parse.
pub(crate) fn check_config(config: &crate::ServerConfig) -> Result<(), String> {
    if let Some(t) = &config.token {
        if !is_url_safe_token(t) {
            return Err(
                "the token must be letters, digits, `-` and `_` only, and not empty".into(),
            );
        }
    }
    for h in &config.allow_hosts {
        if parse_host(h).is_none() {
            return Err(format!(
                "{h:?} is not a host name or address (a name, `1.2.3.4`, `[::1]`, port optional)"
            ));
        }
    }
    for o in &config.allow_origins {
        let n = normal_origin(o);
        let ok = ["http://", "https://"].iter().any(|scheme| {
            n.strip_prefix(scheme)
                .is_some_and(|rest| !rest.contains('/') && parse_host(rest).is_some())
        });
        if !ok || HeaderValue::from_str(&n).is_err() {
            return Err(format!(
                "{o:?} is not an origin: write it as a browser sends it, `http://host:port`"
            ));
        }
    }
    Ok(())
}

/// A new token: 32 random bytes from the operating system, base64url without padding
/// (43 letters, digits, `-` and `_`).
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// True when `token` can be used as a token: not empty, only ASCII letters, digits, `-` and
/// `_` (so it goes into a URL, a header and a cookie as it is).
pub fn is_url_safe_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The host part of a `Host` header, an authority or an `--allow-host`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    /// An address (`127.0.0.1`, `[::1]`), IPv4-mapped IPv6 as IPv4.
    Ip(IpAddr),
    /// A name in lower case, without a trailing dot.
    Name(String),
}

/// Splits `host[:port]` (IPv6 in brackets) and checks both parts. `None` for anything else:
/// an empty name, a bad port, an IPv6 address without brackets, characters no host name has.
fn parse_host(value: &str) -> Option<(Host, Option<u16>)> {
    let value = value.trim();
    let (host, port) = if let Some(inner) = value.strip_prefix('[') {
        let (addr, after) = inner.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        let ip: Ipv6Addr = addr.parse().ok()?;
        (Host::Ip(IpAddr::V6(ip).to_canonical()), port)
    } else {
        let (name, port) = match value.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (value, None),
        };
        if let Ok(ip) = name.parse::<Ipv4Addr>() {
            (Host::Ip(IpAddr::V4(ip)), port)
        } else {
            let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
            let valid = !name.is_empty()
                && name.len() <= 253
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
            if !valid {
                return None;
            }
            (Host::Name(name), port)
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// This machine's host name in lower case, if the system gives a usable one.
fn this_host_name() -> Option<String> {
    let name = gethostname::gethostname().into_string().ok()?;
    match parse_host(&name) {
        Some((Host::Name(n), None)) => Some(n),
        _ => None,
    }
}

/// An origin as compared: lower case, without a trailing `/`.
fn normal_origin(origin: &str) -> String {
    let o = origin.trim().to_ascii_lowercase();
    o.strip_suffix('/').map(str::to_string).unwrap_or(o)
}

/// The Host, Origin and body-size checks, before anything else (also before CORS, so that a
/// foreign origin's preflight is refused too). Every 401, 403 and 413 that passes here, its
/// own or an inner layer's, closes its connection.
pub(crate) async fn guard(State(sec): State<Arc<Security>>, req: Request, next: Next) -> Response {
    let mut response = check(&sec, req, next).await;
    if matches!(
        response.status(),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::PAYLOAD_TOO_LARGE
    ) {
        // A client refused (no token, a foreign Host or Origin) must come back on a new
        // connection: asking again and again on one would keep its place for ever.
        close_after(&mut response);
    }
    response
}

/// Asks the connection to close once `response` is sent.
fn close_after(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}

/// The checks of [`guard`], then the inner layers.
async fn check(sec: &Security, req: Request, next: Next) -> Response {
    let conn = req.extensions().get::<ConnInfo>().copied();
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = hosts
        .next()
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    if hosts.next().is_some() {
        tracing::debug!("refused a request with two Host headers");
        let mut response =
            ApiError::invalid("the request has two Host headers; it may name one host only")
                .into_response();
        close_after(&mut response);
        return response;
    }
    let Some(host) = host.filter(|h| sec.host_allowed(h, conn.as_ref())) else {
        tracing::debug!("refused a request for a foreign or missing Host");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "this server does not answer to that host name: use the address it printed at \
             start, or allow the name with --allow-host",
        )
        .into_response();
    };
    // An absolute request target (`GET http://name/ HTTP/1.1`) names the host too.
    if let Some(authority) = req.uri().authority() {
        if !sec.host_allowed(authority.as_str(), conn.as_ref()) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_host",
                "this server does not answer to that host name",
            )
            .into_response();
        }
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().map(normal_origin).unwrap_or_default();
        if !is_own_origin(&origin, &host) && !sec.origins.contains(&origin) {
            tracing::debug!("refused a request from a foreign origin");
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_origin",
                "requests from another site's pages are refused; allow its origin with \
                 --allow-origin",
            )
            .into_response();
        }
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > sec.body_bytes as u64) {
        return ApiError::body_too_large(sec.body_bytes).into_response();
    }
    let response = next.run(req).await;
    // An extractor's own 413 (plain text) in the one error shape.
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(response.headers()) {
        return ApiError::body_too_large(sec.body_bytes).into_response();
    }
    response
}

/// True when `origin` (normalised) is the server's own as reached with `host` (an accepted
/// `Host`): `http://` or `https://` (a TLS reverse proxy in front), the same host, and the same
/// port, a port left out being the scheme's (80, 443).
fn is_own_origin(origin: &str, host: &str) -> bool {
    let (authority, default_port) = if let Some(rest) = origin.strip_prefix("http://") {
        (rest, 80)
    } else if let Some(rest) = origin.strip_prefix("https://") {
        (rest, 443)
    } else {
        return false;
    };
    match (parse_host(authority), parse_host(host)) {
        (Some((origin_host, origin_port)), Some((host, host_port))) => {
            origin_host == host
                && origin_port.unwrap_or(default_port) == host_port.unwrap_or(default_port)
        }
        _ => false,
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The token check (when a token is set), after CORS so that a preflight, which never carries
/// credentials, is answered.
pub(crate) async fn token(State(sec): State<Arc<Security>>, req: Request, next: Next) -> Response {
    if sec.token.is_none() {
        return next.run(req).await;
    }
    let page = req.uri().path() == "/" && matches!(*req.method(), Method::GET | Method::HEAD);
    if page && req.method() == Method::GET {
        if let Some(t) = query_token(req.uri().query()) {
            if !sec.token_matches(t) {
                return unauthorized_page();
            }
            // The token leaves the address bar (and the history) for a cookie made from it,
            // kept for a while rather than until the browser closes: a camera on a shelf is
            // looked at again next week without digging out the printed URL.
            let cookie = format!(
                "{}={}; Max-Age={COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict; Path=/",
                sec.cookie,
                cookie_value(&sec.cookie, t)
            );
            let mut response = StatusCode::SEE_OTHER.into_response();
            let headers = response.headers_mut();
            headers.insert(header::LOCATION, HeaderValue::from_static("/"));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                headers.insert(header::SET_COOKIE, v);
            }
            return response;
        }
    }
    if presented(req.headers(), &sec.cookie).any(|c| sec.admits(&c)) {
        return next.run(req).await;
    }
    if page {
        return unauthorized_page();
    }
    let script = from_page_script(req.headers());
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a token is required: Authorization: Bearer TOKEN, HTTP Basic with the token as the \
         password, or open the URL the server printed at start",
    )
    .into_response();
    let headers = response.headers_mut();
    headers.append(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"sonyctl\""),
    );
    if !script {
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"sonyctl\", charset=\"UTF-8\""),
        );
    }
    response
}

/// The `token` parameter of a query, as it is (a token needs no decoding).
fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

/// What a request presents to be let in.
#[derive(Debug, PartialEq, Eq)]
enum Credential {
    /// A token: Bearer, or the password of HTTP Basic.
    Token(String),
    /// The value of the server's cookie.
    Cookie(String),
}

/// Every credential the request presents: Bearer, the Basic password, the cookie.
fn presented<'a>(headers: &'a HeaderMap, cookie: &'a str) -> impl Iterator<Item = Credential> + 'a {
    let from_authorization = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            let rest = rest.trim();
            if scheme.eq_ignore_ascii_case("bearer") {
                Some(Credential::Token(rest.to_string()))
            } else if scheme.eq_ignore_ascii_case("basic") {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(rest)
                    .ok()?;
                let text = String::from_utf8(decoded).ok()?;
                let (_user, password) = text.split_once(':')?;
                Some(Credential::Token(password.to_string()))
            } else {
                None
            }
        });
    let from_cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == cookie).then(|| Credential::Cookie(value.trim().to_string()))
        });
    from_authorization.chain(from_cookies)
}

/// True when a browser sends the request for a script or a subresource (`Sec-Fetch-Mode`
/// other than `navigate`), as the web page's own API calls, event stream and images are. A
/// `Basic` challenge in their 401 would make the browser hold the request and ask the person
/// for a user and password, so the page would never see the 401 it explains; they are
/// challenged with `Bearer` only, which browsers do not prompt for. Other clients (curl,
/// Alpaca clients, a person opening an API URL) still get both challenges.
fn from_page_script(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-mode")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|mode| !mode.eq_ignore_ascii_case("navigate"))
}

/// 401 for the page: what to do, for a person in a browser.
fn unauthorized_page() -> Response {
    let body = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
        <title>sonyctl: token needed</title></head><body><h1>sonyctl</h1>\
        <p>This server needs its access token. Open the URL that <code>sonyctl serve</code> \
        printed when it started (it ends in <code>/?token=…</code>); this browser then keeps \
        the token in a cookie.</p></body></html>\n";
    let mut response = (StatusCode::UNAUTHORIZED, axum::response::Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"sonyctl\""),
    );
    response
}

/// The CORS layer for the allowed origins (none: no CORS headers at all).
pub(crate) fn cors(config: &crate::ServerConfig) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if config.allow_origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = config
        .allow_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(&normal_origin(o)).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::RANGE,
                header::IF_NONE_MATCH,
            ])
            .expose_headers([
                header::CONTENT_RANGE,
                header::CONTENT_LENGTH,
                header::HeaderName::from_static("x-frame-number"),
                header::HeaderName::from_static("x-frame-age-ms"),
            ])
            .allow_credentials(true)
            .max_age(std::time::Duration::from_secs(600)),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn host_values() {
        let name = |n: &str| Some((Host::Name(n.into()), None));
        assert_eq!(parse_host("LocalHost"), name("localhost"));
        assert_eq!(parse_host("localhost."), name("localhost"));
        assert_eq!(
            parse_host("localhost:8377"),
            Some((Host::Name("localhost".into()), Some(8377)))
        );
        assert_eq!(
            parse_host("[::1]:80"),
            Some((Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)), Some(80)))
        );
        assert_eq!(
            parse_host("[::ffff:127.0.0.1]"),
            Some((Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)), None))
        );
        assert_eq!(
            parse_host("127.0.0.1:1"),
            Some((Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)), Some(1)))
        );
        for bad in [
            "", ":80", "::1", "[::1", "[::1]x", "[::1]:", "a:b", "a:99999", "a b", "a/b", "é",
            "[x]",
        ] {
            assert_eq!(parse_host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tokens() {
        let t = generate_token().unwrap();
        assert_eq!(t.len(), 43);
        assert!(is_url_safe_token(&t));
        assert_ne!(t, generate_token().unwrap());
        for bad in ["", "a b", "a+b", "a/b", "a=", "é", "a\n"] {
            assert!(!is_url_safe_token(bad), "{bad:?}");
        }
        assert_eq!(query_token(Some("a=1&token=xyz")), Some("xyz"));
        assert_eq!(query_token(Some("tokens=xyz")), None);
        assert_eq!(query_token(None), None);
    }

    #[test]
    fn presented_tokens() {
        let mut h = HeaderMap::new();
        h.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        // "user:p:w" → the password is everything after the first colon.
        h.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwOnc="),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("x=1; sonyctl-token-80=ck; sonyctl-token-81=other"),
        );
        let got: Vec<Credential> = presented(&h, "sonyctl-token-80").collect();
        assert_eq!(
            got,
            [
                Credential::Token("abc".into()),
                Credential::Token("p:w".into()),
                Credential::Cookie("ck".into())
            ]
        );
    }

    #[test]
    fn own_origins() {
        for (origin, host) in [
            ("http://127.0.0.1:8377", "127.0.0.1:8377"),
            ("https://127.0.0.1:8377", "127.0.0.1:8377"),
            ("https://cam.example", "cam.example"),
            ("https://cam.example", "Cam.Example:443"),
            ("https://cam.example:443", "cam.example"),
            ("http://cam.example", "cam.example:80"),
            ("http://[::1]:8377", "[::1]:8377"),
            ("http://127.0.0.1", "127.0.0.1"),
        ] {
            assert!(is_own_origin(origin, host), "{origin} {host}");
        }
        for (origin, host) in [
            ("http://127.0.0.1:8378", "127.0.0.1:8377"),
            ("https://cam.example:8443", "cam.example"),
            ("http://cam.example", "cam.example:443"),
            ("https://cam.example", "cam.example:80"),
            ("http://localhost:8377", "127.0.0.1:8377"),
            ("ftp://cam.example", "cam.example"),
            ("null", "cam.example"),
            ("http://cam.example/x", "cam.example"),
            ("http://", "cam.example"),
        ] {
            assert!(!is_own_origin(origin, host), "{origin} {host}");
        }
    }

    #[test]
    fn the_cookie_holds_no_token() {
        let name = cookie_name(8377);
        assert_eq!(name, "sonyctl-token-8377");
        let v = cookie_value(&name, "abc");
        // SHA-256("sonyctl-token-8377=abc"), by Python's hashlib.
        assert_eq!(
            v,
            "e9ad2465e1c80751ac65d8f6bcc8d323abb6df7cd9a7d7d2020542639783353a"
        );
        assert_ne!(v, cookie_value(&cookie_name(8378), "abc"));
        assert_ne!(v, cookie_value(&name, "abd"));
        let mut c = crate::ServerConfig::new("out");
        c.token = Some("abc".into());
        let sec = Security::new(&c, "127.0.0.1:8377".parse().unwrap());
        assert!(sec.admits(&Credential::Cookie(v.clone())));
        assert!(sec.admits(&Credential::Token("abc".into())));
        // Each only where it belongs.
        assert!(!sec.admits(&Credential::Token(v)));
        assert!(!sec.admits(&Credential::Cookie("abc".into())));
    }

    #[test]
    fn configs() {
        let mut c = crate::ServerConfig::new("out");
        assert_eq!(check_config(&c), Ok(()));
        c.allow_origins = vec!["http://Cam.lan:8080/".into(), "https://[::1]".into()];
        c.allow_hosts = vec!["cam.lan".into(), "10.0.0.2:80".into()];
        assert_eq!(check_config(&c), Ok(()));
        let sec = Security::new(&c, "0.0.0.0:8377".parse().unwrap());
        assert!(sec.origins.contains("http://cam.lan:8080"));
        assert!(sec.host_allowed("CAM.lan:1", None));
        assert!(sec.host_allowed("10.0.0.2", None));
        assert!(!sec.host_allowed("0.0.0.0", None));
        let conn = ConnInfo {
            local: "192.168.1.5:8377".parse().unwrap(),
        };
        assert!(sec.host_allowed("192.168.1.5:8377", Some(&conn)));
        assert!(!sec.host_allowed("192.168.1.6:8377", Some(&conn)));
        for bad in ["cam.lan", "ftp://x", "http://a/b", "http://a b"] {
            c.allow_origins = vec![bad.into()];
            assert!(check_config(&c).is_err(), "{bad}");
        }
        c.allow_origins.clear();
        c.token = Some("a b".into());
        assert!(check_config(&c).is_err());
        c.token = Some("ok-_9".into());
        c.allow_hosts = vec!["a/b".into()];
        assert!(check_config(&c).is_err());
    }
}
