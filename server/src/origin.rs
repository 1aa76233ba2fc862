//! Who may reach the server by name, and from which page: a Host allow-list (DNS
//! rebinding: a hostile page whose name resolves to 127.0.0.1 reaches a loopback server
//! under its own name, which is not on the list) and an Origin check on every
//! state-changing request (a cross-site form or fetch that needs no body to claim a
//! task). Requests without an Origin (the desktop app, curl, engines) are not browsers'
//! cross-site requests and pass.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, Method, StatusCode};
use axum::response::IntoResponse;

use crate::problem::Problem;

/// The names and origins the server answers.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// Host names (without port) the server answers to; empty: any (a server listening
    /// on every interface without `allowed-hosts`).
    hosts: Arc<Vec<String>>,
    /// Origins (`https://inbox.example.com`) that may send state-changing requests
    /// besides the server's own.
    origins: Arc<Vec<String>>,
}

impl OriginPolicy {
    /// From the configuration: `allowed_hosts`, or else the listen address and the
    /// loopback names (a server on every interface answers any name: set
    /// `allowed-hosts` there).
    pub fn new(listen: SocketAddr, allowed_hosts: &[String], allowed_origins: &[String]) -> Self {
        let hosts = if !allowed_hosts.is_empty() {
            allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect()
        } else if listen.ip().is_unspecified() {
            tracing::warn!("listening on every interface without allowed-hosts: any Host name is answered (set allowed-hosts to the names clients use)");
            Vec::new()
        } else {
            let mut h = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
            h.push(listen.ip().to_string());
            h
        };
        Self {
            hosts: Arc::new(hosts),
            origins: Arc::new(
                allowed_origins
                    .iter()
                    .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                    .collect(),
            ),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.hosts.is_empty() || self.hosts.iter().any(|h| h == &host_name(host))
    }

    fn origin_allowed(&self, origin: &str, host: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        let same = origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host.to_ascii_lowercase());
        same || self.origins.contains(&origin)
    }
}

/// The host name of a Host header value (without the port; IPv6 without brackets).
fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map(|(name, _)| name.to_string())
        .unwrap_or(host)
}

/// The middleware: 421 for a Host not on the list, 403 for a cross-origin
/// state-changing request.
pub async fn guard(
    policy: OriginPolicy,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("")
        .to_string();
    if !policy.host_allowed(&host) {
        return Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            "host-not-allowed",
            format!(
                "this server does not answer to the name `{}`",
                host_name(&host)
            ),
        )
        .field("Host")
        .into_response();
    }
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state {
        if let Some(origin) = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
        {
            if !policy.origin_allowed(origin, &host) {
                return Problem::new(
                    StatusCode::FORBIDDEN,
                    "origin-not-allowed",
                    format!("a page from `{origin}` may not change anything here"),
                )
                .field("Origin")
                .into_response();
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_origins() {
        let p = OriginPolicy::new(
            "127.0.0.1:8080".parse().expect("addr"),
            &[],
            &["https://inbox.example.com".into()],
        );
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "127.0.0.1",
        ] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for bad in ["evil.example:8080", "attacker.test", ""] {
            assert!(!p.host_allowed(bad), "{bad}");
        }
        assert!(p.origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(p.origin_allowed("https://inbox.example.com/", "127.0.0.1:8080"));
        assert!(!p.origin_allowed("http://evil.example", "127.0.0.1:8080"));
        assert!(!p.origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8080"));
        let any = OriginPolicy::new("0.0.0.0:8080".parse().expect("addr"), &[], &[]);
        assert!(any.host_allowed("whatever.example"));
        let listed = OriginPolicy::new(
            "0.0.0.0:8080".parse().expect("addr"),
            &["tasks.example.com".into()],
            &[],
        );
        assert!(listed.host_allowed("tasks.example.com:443") && !listed.host_allowed("localhost"));
    }
}
