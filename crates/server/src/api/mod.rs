//! The handlers under `/api/v1`, one module per resource. Each module gives its routes as an
//! `OpenApiRouter`, so the OpenAPI document is generated from the handlers themselves.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub(crate) mod actions;
pub(crate) mod cameras;
pub(crate) mod events;
pub(crate) mod images;
pub(crate) mod jobs;
pub(crate) mod liveview;
pub(crate) mod properties;

/// Every route under `/api/v1`.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(cameras::routes())
        .merge(properties::routes())
        .merge(actions::routes())
        .merge(jobs::routes())
        .merge(images::routes())
        .merge(events::routes())
        .merge(liveview::routes())
}
