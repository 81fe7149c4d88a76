//! `edgeflag seed-demo`: the demo organization, project `demo`, environment
//! `production` (edge name `production`), the flags and segment of
//! `examples/demo-snapshot.json`, and a server and a client SDK key — made through the
//! same domain operations as the API's, acting as the new organization's first owner
//! key, so they are validated, versioned and audited like any other change.

use serde_json::{Map, Value, json};
use sqlx::AnyPool;

use crate::{
    api_keys, environments,
    error::Error,
    flags::{self, CreateFlag},
    model::SegmentBody,
    orgs, projects, sdk_keys,
    segments::{self, SegmentFields},
};

/// What `seed-demo` created.
#[derive(Debug)]
pub struct DemoKeys {
    pub owner_api_key: String,
    pub server_sdk_key: String,
    pub client_sdk_key: String,
}

const DEMO: &str = include_str!("../../examples/demo-snapshot.json");
const PROJECT: &str = "demo";
const ENV: &str = "production";

/// Creates the demo organization and everything in it; returns the keys, shown once.
pub async fn demo(pool: &AnyPool) -> Result<DemoKeys, Error> {
    let org = orgs::bootstrap(pool, "demo", "Demo organization").await?;
    let owner = api_keys::actor(pool, &org.owner_key_id)
        .await?
        .ok_or_else(|| Error::internal("the demo owner key vanished"))?;
    let description = "The flags of examples/demo-snapshot.json";
    projects::create(pool, &owner, PROJECT, "Demo", description, &[]).await?;
    environments::create(pool, &owner, PROJECT, ENV, "Production", Some(ENV)).await?;
    let snapshot: Value = serde_json::from_str(DEMO).map_err(Error::internal)?;
    for segment in snapshot["segments"].as_array().into_iter().flatten() {
        let (key, body) = segment_parts(segment)?;
        let fields = SegmentFields {
            name: &key,
            description: "",
            body: &body,
        };
        segments::create(pool, &owner, PROJECT, &key, &fields).await?;
    }
    for flag in snapshot["flags"].as_array().into_iter().flatten() {
        let request: CreateFlag =
            serde_json::from_value(flag_body(flag)).map_err(Error::internal)?;
        flags::create(pool, &owner, PROJECT, request.into_document()).await?;
    }
    let server = sdk_keys::create(pool, &owner, PROJECT, ENV, "server").await?;
    let client = sdk_keys::create(pool, &owner, PROJECT, ENV, "client").await?;
    Ok(DemoKeys {
        owner_api_key: org.owner_secret,
        server_sdk_key: server.secret.unwrap_or_default(),
        client_sdk_key: client.secret.unwrap_or_default(),
    })
}

/// An engine segment document as its key and membership.
fn segment_parts(segment: &Value) -> Result<(String, SegmentBody), Error> {
    let key = segment["key"].as_str().unwrap_or_default().to_string();
    let body = pick(segment, &["included", "excluded", "rules"]);
    let body = serde_json::from_value(body).map_err(Error::internal)?;
    Ok((key, body))
}

/// An engine flag document as a create-flag request with its `production` targeting.
fn flag_body(flag: &Value) -> Value {
    let targeting = pick(
        flag,
        &[
            "enabled",
            "offVariation",
            "targets",
            "rules",
            "defaultRule",
            "prerequisites",
        ],
    );
    let mut body = pick(
        flag,
        &[
            "key",
            "description",
            "type",
            "variations",
            "tags",
            "clientVisible",
            "salt",
        ],
    );
    body["name"] = flag["key"].clone();
    body["environments"] = json!({ ENV: targeting });
    body
}

/// The fields of `item` named in `fields`, those it has.
fn pick(item: &Value, fields: &[&str]) -> Value {
    let mut out = Map::new();
    for field in fields {
        if let Some(v) = item.get(*field) {
            out.insert((*field).to_string(), v.clone());
        }
    }
    Value::Object(out)
}
