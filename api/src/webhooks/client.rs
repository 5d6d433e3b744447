//! The HTTP client deliveries go out with: a short timeout, no redirects, no proxies, and a
//! resolver that refuses private addresses, so that a public host name that resolves (or is
//! re-pointed, DNS rebinding) to the internal network is never reached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::webhook::is_public_address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves host names with the system resolver, keeping only addresses deliveries may go
/// to. IP literals in URLs never come here: they are checked when the target is set and
/// again before each delivery.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| allow_private || is_public_address(addr.ip()))
                .collect();
            if kept.is_empty() {
                return Err(format!(
                    "{host} resolves to no public address (private targets are not allowed)"
                )
                .into());
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

pub fn build(timeout: Duration, allow_private: bool) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("Clientline-Webhooks/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .build()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    async fn resolve(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
        let name = Name::from_str(host).map_err(|e| e.to_string())?;
        GuardedResolver { allow_private }
            .resolve(name)
            .await
            .map(Iterator::collect)
            .map_err(|e| e.to_string())
    }

    /// A name that resolves to this machine (as a rebinding attacker's name would) is
    /// refused at connect time, whatever the target URL passed when it was set.
    #[actix_web::test]
    async fn names_that_resolve_to_private_addresses_are_refused_unless_allowed() {
        let refused = resolve("localhost", false).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("no public address")),
            "{refused:?}"
        );
        let allowed = resolve("localhost", true).await.unwrap_or_default();
        assert!(!allowed.is_empty() && allowed.iter().all(|a| a.ip().is_loopback()));
    }
}
