//! A guard against server-side request forgery: outbound URLs (LLM `base_url`s, remote
//! MCP servers) are checked against the addresses their host resolves to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

/// Which outbound destinations are allowed.
///
/// With `allow_private` off, a URL whose host is (or resolves to) a loopback, private,
/// link-local (cloud metadata), carrier-grade NAT, unique-local, multicast or
/// unspecified address is refused. Hosts listed in `allowed_hosts` are always allowed
/// (an in-cluster model gateway, say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Allow every address (the default, for local development).
    pub allow_private: bool,
    /// Hosts allowed even when they resolve to a private address (exact, case-insensitive).
    pub allowed_hosts: Vec<String>,
}

impl NetworkPolicy {
    /// A policy that allows everything.
    pub fn open() -> Self {
        NetworkPolicy {
            allow_private: true,
            allowed_hosts: Vec::new(),
        }
    }

    /// A policy that refuses private, loopback and link-local destinations.
    pub fn deny_private() -> Self {
        NetworkPolicy {
            allow_private: false,
            allowed_hosts: Vec::new(),
        }
    }

    /// Checks `url`: its scheme must be http or https and, unless private destinations are
    /// allowed, every address its host resolves to must be public. The error says which
    /// rule refused it.
    pub async fn check_url(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "only http and https URLs are allowed, not '{}'",
                url.scheme()
            ));
        }
        if self.allow_private {
            return Ok(());
        }
        let Some(host) = url.host_str() else {
            return Err("the URL has no host".into());
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if self
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(bare))
        {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| format!("the host '{bare}' cannot be resolved: {e}"))?
                .map(|a| a.ip())
                .collect(),
        };
        if addrs.is_empty() {
            return Err(format!("the host '{bare}' resolves to no address"));
        }
        if let Some(ip) = addrs.iter().find(|ip| !is_public(**ip)) {
            return Err(format!(
                "the host '{bare}' resolves to {ip}, a private, loopback or link-local address, \
                 and private network destinations are denied"
            ));
        }
        Ok(())
    }
}

/// A model whose endpoint is checked against a [`NetworkPolicy`] before its first call
/// (the check resolves the host, so a name pointing at a private address is caught).
pub struct GuardedModel {
    inner: std::sync::Arc<dyn crate::model::ChatModel>,
    policy: NetworkPolicy,
    endpoint: Url,
    checked: tokio::sync::OnceCell<Result<(), String>>,
}

impl GuardedModel {
    /// Guards `inner`, which talks to `endpoint`.
    pub fn new(
        inner: std::sync::Arc<dyn crate::model::ChatModel>,
        policy: NetworkPolicy,
        endpoint: Url,
    ) -> Self {
        GuardedModel {
            inner,
            policy,
            endpoint,
            checked: tokio::sync::OnceCell::new(),
        }
    }
}

#[async_trait::async_trait]
impl crate::model::ChatModel for GuardedModel {
    fn model_name(&self) -> &str {
        self.inner.model_name()
    }

    fn context_window(&self) -> Option<u32> {
        self.inner.context_window()
    }

    async fn stream(
        &self,
        request: crate::model::ChatRequest,
    ) -> Result<crate::model::ModelStream, crate::model::ModelError> {
        let verdict = self
            .checked
            .get_or_init(|| async { self.policy.check_url(&self.endpoint).await })
            .await;
        if let Err(why) = verdict {
            return Err(crate::model::ModelError::Config {
                message: format!("the LLM base URL is not allowed: {why}"),
            });
        }
        self.inner.stream(request).await
    }
}

/// True when `ip` is a globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg0 = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg0 & 0xfe00) == 0xfc00
        || (seg0 & 0xffc0) == 0xfe80
        || seg0 == 0x2001 && ip.segments()[1] == 0x0db8
        || ip.to_ipv4().is_some_and(|v4| !is_public_v4(v4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn denies_private_destinations_when_asked() {
        let deny = NetworkPolicy::deny_private();
        let err = deny
            .check_url(&Url::parse("http://127.0.0.1:8080/v1").unwrap())
            .await
            .unwrap_err();
        assert!(err.contains("private"), "{err}");
        let err = deny
            .check_url(&Url::parse("http://localhost/mcp").unwrap())
            .await
            .unwrap_err();
        assert!(err.contains("localhost"), "{err}");
        assert!(
            deny.check_url(&Url::parse("http://8.8.8.8/").unwrap())
                .await
                .is_ok()
        );
        let mut allow_one = NetworkPolicy::deny_private();
        allow_one.allowed_hosts.push("localhost".into());
        assert!(
            allow_one
                .check_url(&Url::parse("http://localhost:1/").unwrap())
                .await
                .is_ok()
        );
        let open = NetworkPolicy::open();
        assert!(
            open.check_url(&Url::parse("http://10.0.0.1/").unwrap())
                .await
                .is_ok()
        );
        assert!(
            open.check_url(&Url::parse("file:///etc/passwd").unwrap())
                .await
                .is_err()
        );
    }
}
