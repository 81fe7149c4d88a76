//! `serve ADDR`: the Spin app on a TCP port, standing in for `spin up` where the
//! `spin` CLI is not installed. HTTP/1.1; every request gets a fresh instance.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::spin::SpinApp;

/// Binds `addr` and serves `app` until the task is dropped. Returns the bound
/// address (useful with port 0) and the serving future.
pub async fn bind(
    app: Arc<SpinApp>,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, impl Future<Output = ()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((local, accept_loop(listener, app)))
}

async fn accept_loop(listener: TcpListener, app: Arc<SpinApp>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(app.clone(), req));
            // A client that hangs up mid-request is not the server's problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One request through the app; a host failure is a 500 with the reason, logged.
async fn answer(
    app: Arc<SpinApp>,
    req: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let response = match body.collect().await {
        Ok(body) => app
            .handle(http::Request::from_parts(parts, body.to_bytes()))
            .await
            .map_err(|e| format!("{e:?}")),
        Err(e) => Err(format!("reading the request: {e}")),
    };
    Ok(match response {
        Ok(response) => response.map(Full::new),
        Err(message) => {
            eprintln!("edgeflag-wasm-host: {message}");
            let mut response = http::Response::new(Full::new(Bytes::from(message)));
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    })
}
