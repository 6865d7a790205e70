//! The OpenAPI 3 document, generated from the handlers' annotations (utoipa): no hand-kept
//! copy, and nothing downloaded to build it.
//!
//! What every operation can answer because of the layers in front of the routes (the token,
//! the Host and Origin checks, the bounds on bodies and heads) is added once, by [`Access`],
//! to the document the routes make: no handler lists it by hand, and none can forget it.

use utoipa::OpenApi;
use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Ref, RefOr};

use crate::error::{ErrorBody, ErrorDetail};

/// The document's head and the shared schemas; the paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "sonyctl",
        description = "Remote control of Sony Alpha cameras: properties, capture, images, events and live view. Every failure answers `{\"error\": {\"code\", \"message\", …}}` (`ErrorBody`); the codes are listed with `ErrorDetail`. A method a path does not take is answered 405 `method_not_allowed`, its `Allow` header listing those it takes."
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "cameras", description = "The cameras served, and one camera's description and status"),
        (name = "properties", description = "Settings, read from the camera service's last read and set through it"),
        (name = "actions", description = "Capture, autofocus, release, focus, the AF point, movie recording"),
        (name = "jobs", description = "Capture jobs: bulb, burst, timelapse"),
        (name = "images", description = "The images this server saved from a camera: the list, each file (with ranges), a thumbnail, deletion"),
        (name = "events", description = "Server-Sent Events: the camera's status, then property changes, new images, exposures, the connection and capture jobs as they happen"),
        (name = "live view", description = "The camera's live view: an MJPEG stream, the newest frame, and what it shows"),
    )
)]
pub(crate) struct ApiDoc;

/// The names of the security schemes in `components.securitySchemes`.
const BEARER: &str = "bearer";
const BASIC: &str = "basic";
const COOKIE: &str = "cookie";

/// What the layers in front of the routes add to every operation, for one running server.
#[derive(Debug)]
pub(crate) struct Access {
    /// The name of the token's cookie (`security::cookie_name`: the port is in it).
    pub(crate) cookie: String,
    /// True when the server has a token: every operation then requires one of the schemes.
    pub(crate) token: bool,
    /// The largest request body (`Limits::body_bytes`).
    pub(crate) body_bytes: usize,
    /// The largest request head (`Limits::header_bytes`, as the parser applies it).
    pub(crate) header_bytes: usize,
}

impl utoipa::Modify for Access {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer TOKEN`: the token `sonyctl serve` printed in its \
                         URL (or read with `--token-file`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            BASIC,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "HTTP Basic with the token as the password; any user name",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                self.cookie.clone(),
                "The cookie `GET /?token=TOKEN` sets (`Max-Age` 30 days; `HttpOnly; SameSite=Strict; \
                 Path=/`). It holds a value made from the token, not the token: cookies go to \
                 every port of a host."
                    .to_string(),
            ))),
        );
        let security = self.token.then(|| {
            [BEARER, BASIC, COOKIE]
                .into_iter()
                .map(|scheme| SecurityRequirement::new(scheme, Vec::<String>::new()))
                .collect::<Vec<_>>()
        });
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                if let Some(security) = &security {
                    operation.security = Some(security.clone());
                }
                self.add_responses(operation);
            }
        }
    }
}

impl Access {
    /// The answers the layers can give to `operation`, whatever its handler does.
    fn add_responses(&self, operation: &mut Operation) {
        let responses = &mut operation.responses.responses;
        let two_hosts = "two `Host` headers";
        match responses.get_mut("400") {
            Some(RefOr::T(existing)) => {
                existing.description = format!("{}; {two_hosts}", existing.description);
            }
            Some(RefOr::Ref(_)) => {}
            None => {
                responses.insert(
                    "400".into(),
                    error(&format!("`invalid_request`: {two_hosts}")).into(),
                );
            }
        }
        let mut unauthorized = error(
            "`unauthorized`: the server has a token (`--token-file`, or any address other than \
             loopback) and the request presented none, or a wrong one. The connection is closed \
             after the answer.",
        );
        unauthorized.headers.insert(
            "WWW-Authenticate".into(),
            described_header("The schemes the server takes: Bearer and Basic"),
        );
        responses.entry("401".into()).or_insert(unauthorized.into());
        responses.entry("403".into()).or_insert(
            error(
                "`forbidden_host`: the `Host` header names no name or address of this server \
                 (`--allow-host` adds one); `forbidden_origin`: an `Origin` other than the \
                 server's own or an allowed one (`--allow-origin`). The connection is closed \
                 after the answer.",
            )
            .into(),
        );
        responses.entry("413".into()).or_insert(
            error(&format!(
                "`body_too_large`: the request declares or sends a body longer than {} bytes, \
                 whatever the operation. The connection is closed after the answer.",
                self.body_bytes
            ))
            .into(),
        );
        responses.entry("431".into()).or_insert(
            Response::new(format!(
                "The request head (request line and headers) is longer than {} bytes: answered \
                 by the HTTP parser, with no body, and the connection closed",
                self.header_bytes
            ))
            .into(),
        );
    }
}

/// A response in the one error shape (`ErrorBody`), described by `description`.
fn error(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        "application/json".into(),
        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
    );
    response
}

/// A string header with a description.
fn described_header(description: &str) -> Header {
    let mut header = Header::default();
    header.description = Some(description.into());
    header
}
