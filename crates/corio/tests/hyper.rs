//! hyper 1.x on corio: a server and a client, both corio tasks.
#![cfg(feature = "hyper")]

use std::convert::Infallible;

use corio::hyper::{CorioExecutor, CorioTimer, HyperIo};
use corio::net::{TcpListener, TcpStream};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};

async fn echo_path(req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(format!("you asked for {}", req.uri().path())))
}

#[test]
fn a_hyper_server_on_corio_answers_a_hyper_client_on_corio_over_keep_alive() {
    let rt = corio::Runtime::builder().workers(2).build().unwrap();
    rt.run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(corio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                drop(corio::spawn(async move {
                    hyper::server::conn::http1::Builder::new()
                        .timer(CorioTimer)
                        .serve_connection(
                            HyperIo::new(stream),
                            hyper::service::service_fn(echo_path),
                        )
                        .await
                        .unwrap();
                }));
            }
        }));
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, String>(HyperIo::new(stream))
                .await
                .unwrap();
        hyper::rt::Executor::execute(&CorioExecutor, async move {
            let _ = conn.await;
        });
        // Several requests on the one keep-alive connection.
        for i in 0..20 {
            let req = Request::builder()
                .uri(format!("/item/{i}"))
                .header("host", "localhost")
                .body(String::new())
                .unwrap();
            // The connection task may still be finishing the previous
            // exchange on another worker: wait until it can take a request.
            sender.ready().await.unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.status(), 200);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, format!("you asked for /item/{i}").as_bytes());
        }
    });
}
