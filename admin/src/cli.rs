//! The CLI commands that are more than a call into the library: the first owner,
//! people's passwords, publishing everything, and `login`. The commands on an
//! organization's data live in `edgeflag_admin::commands` and go through the API.

use anyhow::Context as _;
use axum::http::Method;

use edgeflag_admin::{
    AppState,
    client::{Api, Credentials, Remote},
    local::Local,
};
use edgeflag_admin_core::{Role, api_keys, invitations, outbox, passwords, publisher, users};

/// The demo organization's owner, made by `seed-demo`.
pub const DEMO_OWNER: &str = "demo@example.com";

/// The first owner of an organization, made by `init --owner-email` or `seed-demo`.
#[derive(Debug)]
pub struct FirstOwner<'a> {
    pub org_key: &'a str,
    pub email: &'a str,
    pub name: Option<&'a str>,
    /// Invite instead of setting a password, on behalf of this API key (the org's first).
    pub invite_by: Option<&'a str>,
}

/// The local part of an email address, as a default name.
fn default_name(email: &str) -> &str {
    email.split('@').next().unwrap_or(email)
}

/// Makes the first owner and prints how they sign in: a generated password, or an
/// invitation link to open in a browser.
pub async fn first_owner(state: &AppState, owner: &FirstOwner<'_>) -> anyhow::Result<()> {
    let Some(key_id) = owner.invite_by else {
        return add_user(state, owner.org_key, owner.email, owner.name, Role::Owner).await;
    };
    let inviter = api_keys::actor(&state.pool, key_id)
        .await?
        .context("the organization's first key vanished")?;
    let invitation = invitations::create(
        &state.pool,
        &inviter,
        owner.email,
        Role::Owner,
        &state.config.accounts,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = invitation.token.unwrap_or_default();
    let base = state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.config.listen));
    println!(
        "first owner {} invited; open this link (valid until {}) to choose a password:\n{base}/#/invitation/{token}",
        invitation.email, invitation.expires_at
    );
    Ok(())
}

/// Adds a person with a generated password and prints it once.
pub async fn add_user(
    state: &AppState,
    org: &str,
    email: &str,
    name: Option<&str>,
    role: Role,
) -> anyhow::Result<()> {
    let password = passwords::generate();
    let name = name.unwrap_or_else(|| default_name(email));
    users::add(
        &state.pool,
        org,
        email,
        name,
        &password,
        role,
        &state.config.accounts,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{} user: {}", role.as_str(), email.trim().to_lowercase());
    println!("password (shown once; change it after signing in): {password}");
    Ok(())
}

/// Sets a new generated password for a person and prints it once.
pub async fn reset_password(state: &AppState, email: &str) -> anyhow::Result<()> {
    let password = passwords::generate();
    users::reset_password(&state.pool, email, &password, &state.config.accounts)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "new password for {} (their sessions ended): {password}",
        email.trim().to_lowercase()
    );
    Ok(())
}

pub async fn publish_all(state: &AppState) -> anyhow::Result<()> {
    outbox::enqueue_all(&state.pool, "cli-publish").await?;
    state.publisher().tick().await?;
    for status in publisher::status_all(&state.pool, &state.config.publish).await? {
        println!("{status}");
    }
    Ok(())
}

/// The API key for commands on this machine's database (`EDGEFLAG_API_KEY`).
pub fn local_api_key() -> anyhow::Result<String> {
    std::env::var("EDGEFLAG_API_KEY").context(
        "set EDGEFLAG_API_KEY to an API key of the organization (or EDGEFLAG_URL and EDGEFLAG_TOKEN, or run `edgeflag login`, to use a running admin)",
    )
}

/// The API on this machine's database, as the organization of `key`.
pub fn local_api(state: &AppState, key: &str) -> Api {
    Api::Local(Local::new(state, key))
}

/// `edgeflag login URL`: checks the API key (read from stdin) against the admin and
/// stores both for later commands, readable by the owner only.
pub async fn login(url: &str) -> anyhow::Result<String> {
    let mut key = String::new();
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprint!("API key for {url}: ");
    }
    std::io::stdin()
        .read_line(&mut key)
        .context("reading the API key from stdin")?;
    let key = key.trim();
    if key.is_empty() {
        anyhow::bail!("no API key on stdin: pipe one in, e.g. `edgeflag login {url} < key.txt`");
    }
    let remote = Remote::new(url, key)?;
    let api = Api::Remote(remote.clone());
    let org = api
        .ok(Method::GET, "/v1/organizations/current", None)
        .await
        .context("the admin did not accept this API key")?;
    let path = Credentials {
        url: remote.url().to_string(),
        api_key: key.to_string(),
    }
    .store()?;
    Ok(format!(
        "logged in to {} as organization `{}` (credentials in {})\n",
        remote.url(),
        org["key"].as_str().unwrap_or(""),
        path.display()
    ))
}

pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}
