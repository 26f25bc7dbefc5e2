//! Requests with a method, headers and a body, for the admin API; and the
//! admin token every owner test configures.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestResponse};

/// The admin token of the owner tests (`admin_token: ADMIN`).
pub const ADMIN: &str = "admin-token-for-the-tests-0123456789abcdef";
/// The config key that sets it.
pub const ADMIN_KEY: (&str, &str) = ("admin_token", ADMIN);

/// One request on a fresh connection, the path sent exactly as given.
pub async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> TestResponse {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "footfall.test");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = sender
        .send_request(builder.body(Full::new(body.into())).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    TestResponse { status, headers, body }
}

impl TestApp {
    /// An admin request with the admin token and, when given, a JSON body.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        let auth = format!("Bearer {ADMIN}");
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        request(self.addr, method, path, &headers, body).await
    }

    /// The owner renames page `from` to `to` (merging it into `to` when
    /// `to` exists), as the admin API does it.
    pub async fn rename_page(&self, from: &str, to: &str) -> TestResponse {
        let body = json!({"from": from, "to": to});
        self.admin(Method::POST, "/api/admin/pages/rename", Some(body)).await
    }

    /// A GET with `token` as a bearer token.
    pub async fn get_with_token(&self, path: &str, token: &str) -> TestResponse {
        let auth = format!("Bearer {token}");
        request(self.addr, Method::GET, path, &[("authorization", &auth)], Bytes::new()).await
    }
}
