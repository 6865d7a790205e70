//! The OpenAPI 3 document, generated from the handlers' annotations (utoipa): no hand-kept
//! copy, and nothing downloaded to build it.

use utoipa::OpenApi;

use crate::error::{ErrorBody, ErrorDetail};

/// The document's head and the shared schemas; the paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "sonyctl",
        description = "Remote control of Sony Alpha cameras: properties, capture, images, events and live view. Every failure answers `{\"error\": {\"code\", \"message\", …}}` (`ErrorBody`); the codes are listed with `ErrorDetail`."
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "cameras", description = "The cameras served, and one camera's description and status"),
        (name = "properties", description = "Settings, read from the camera service's last read and set through it"),
        (name = "actions", description = "Capture, autofocus, release, focus, the AF point, movie recording"),
        (name = "jobs", description = "Capture jobs: bulb, burst, timelapse"),
    )
)]
pub(crate) struct ApiDoc;
