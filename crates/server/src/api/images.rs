//! TODO(skeleton): routes of `images`.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The images this server saved from one camera.
#[derive(Debug, Default)]
pub(crate) struct ImageStore {}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
