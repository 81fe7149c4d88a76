//! Listing with keyset pagination: the shared query parameters (`limit`, `cursor`,
//! `sort`, `q`, `archived`, …), the SQL fragments that page by the sort column and the
//! id, and opaque cursors.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// Query parameters shared by list routes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// `key` (default), `-key`, `createdAt`, `-createdAt`, `updatedAt`, `-updatedAt`.
    pub sort: Option<String>,
    /// Substring of the key or name.
    pub q: Option<String>,
    /// Only items with this tag (flags).
    pub tag: Option<String>,
    /// Only items of this type (flags).
    #[serde(rename = "type")]
    pub value_type: Option<String>,
    /// `false` (default): live items; `true`: archived ones; `all`: both.
    pub archived: Option<String>,
}

/// The largest page a list route answers.
pub const MAX_LIMIT: u32 = 200;

/// The page size asked for by `limit`: 50 when absent, refused outside 1–[`MAX_LIMIT`]
/// (a bound silently applied would answer a different question than was asked).
pub fn page_limit(limit: Option<u32>) -> Result<i64, Error> {
    match limit.unwrap_or(50) {
        n @ 1..=MAX_LIMIT => Ok(i64::from(n)),
        n => Err(Error::invalid(
            "/limit",
            format!("expected a whole number from 1 to {MAX_LIMIT}, found {n}"),
        )),
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A keyset-pagination plan: ORDER BY and WHERE fragments plus the cursor values.
#[derive(Debug)]
pub struct Keyset {
    pub column: &'static str,
    pub descending: bool,
    pub after: Option<(Value, String)>,
    pub limit: i64,
}

impl Keyset {
    pub fn from_query(q: &ListQuery, has_updated: bool) -> Result<Self, Error> {
        let sort = q.sort.as_deref().unwrap_or("key");
        let (descending, name) = match sort.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, sort),
        };
        let column = match name {
            "key" => "key",
            "createdAt" => "created_at",
            "updatedAt" if has_updated => "updated_at",
            _ => {
                return Err(Error::invalid("/sort", format!("cannot sort by `{sort}`")));
            }
        };
        let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
        let limit = page_limit(q.limit)?;
        Ok(Self {
            column,
            descending,
            after,
            limit,
        })
    }

    /// `AND (col > $n OR (col = $n AND id > $n+1))`, using placeholders from `next`.
    pub fn where_clause(&self, alias: &str, next: usize) -> String {
        match self.after {
            None => String::new(),
            Some(_) => {
                let op = if self.descending { "<" } else { ">" };
                let col = format!("{alias}{}", self.column);
                format!(
                    " AND ({col} {op} ${next} OR ({col} = ${next} AND {alias}id {op} ${}))",
                    next + 1
                )
            }
        }
    }

    pub fn order_clause(&self, alias: &str) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        format!(
            " ORDER BY {alias}{} {dir}, {alias}id {dir} LIMIT {}",
            self.column,
            self.limit + 1
        )
    }

    /// The cursor of a row listed by `key` or `createdAt` (an RFC 3339 timestamp, stored
    /// as epoch milliseconds): the sort value and the id.
    pub fn key_or_created(&self, key: &str, created_at: &str, id: &str) -> (Value, String) {
        let value = if self.column == "key" {
            Value::from(key)
        } else {
            Value::from(
                chrono::DateTime::parse_from_rfc3339(created_at)
                    .map(|d| d.timestamp_millis())
                    .unwrap_or_default(),
            )
        };
        (value, id.to_string())
    }

    /// Cuts the extra row fetched to learn whether there is a next page.
    pub fn finish<T>(
        &self,
        mut items: Vec<T>,
        cursor_of: impl Fn(&T) -> (Value, String),
    ) -> Page<T> {
        let more = items.len() > usize::try_from(self.limit).unwrap_or(usize::MAX);
        if more {
            items.pop();
        }
        let next_cursor = if more {
            items.last().map(|last| encode_cursor(&cursor_of(last)))
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

/// Binds the cursor values of a keyset to a query.
pub fn bind_cursor<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    keyset: &Keyset,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match &keyset.after {
        None => query,
        Some((value, id)) => {
            let query = match value {
                Value::Number(n) => query.bind(n.as_i64().unwrap_or_default()),
                other => query.bind(other.as_str().unwrap_or_default().to_string()),
            };
            query.bind(id.clone())
        }
    }
}

fn encode_cursor(cursor: &(Value, String)) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    Base64UrlUnpadded::encode_string(
        serde_json::json!([cursor.0, cursor.1])
            .to_string()
            .as_bytes(),
    )
}

fn decode_cursor(text: &str) -> Result<(Value, String), Error> {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let bad = || Error::invalid("/cursor", "the cursor is not one this API issued");
    let bytes = Base64UrlUnpadded::decode_vec(text).map_err(|_| bad())?;
    let (value, id): (Value, String) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok((value, id))
}

/// The archived filter: `AND archived_at IS NULL` and friends.
pub fn archived_clause(q: &ListQuery, alias: &str) -> Result<String, Error> {
    match q.archived.as_deref().unwrap_or("false") {
        "false" => Ok(format!(" AND {alias}archived_at IS NULL")),
        "true" => Ok(format!(" AND {alias}archived_at IS NOT NULL")),
        "all" => Ok(String::new()),
        other => Err(Error::invalid(
            "/archived",
            format!("`{other}` is not false, true or all"),
        )),
    }
}
