//! TODO(skeleton): routes of `jobs`.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The capture jobs of one camera.
#[derive(Debug, Default)]
pub(crate) struct Jobs {}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
