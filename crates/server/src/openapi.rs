//! The OpenAPI 3 document, generated from the handlers' annotations (utoipa): no hand-kept
//! copy, and nothing downloaded to build it.

use utoipa::OpenApi;

use crate::error::{ErrorBody, ErrorDetail};

/// The document's head and the shared schemas; the paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "sonyctl",
        description = "Remote control of Sony Alpha cameras: properties, capture, images, events and live view."
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub(crate) struct ApiDoc;
