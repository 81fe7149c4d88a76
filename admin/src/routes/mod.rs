//! The HTTP routes, one module per resource, each exposing its `router()`.

use axum::Router;

use crate::state::AppState;

pub mod audit;
pub mod auth;
pub mod docs;
pub mod environments;
pub mod evaluate;
pub mod feed;
pub mod flags;
pub mod health;
pub mod keys;
pub mod orgs;
pub mod projects;
pub mod segments;
pub mod sessions;
pub mod usage;
pub mod users;
pub mod versions;
pub mod webhooks;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(docs::router())
        .merge(auth::router())
        .merge(orgs::router())
        .merge(projects::router())
        .merge(environments::router())
        .merge(flags::router())
        .merge(versions::router())
        .merge(segments::router())
        .merge(evaluate::router())
        .merge(audit::router())
        .merge(keys::router())
        .merge(webhooks::router())
        .merge(sessions::router())
        .merge(users::router())
        .merge(feed::router())
        .merge(usage::router())
        .merge(crate::ui::router())
}
