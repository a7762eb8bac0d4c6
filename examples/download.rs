//! The asyncio fundamentals seed's parallel asset downloader, redone on
//! corio against a local HTTP server that the example starts itself: for
//! each release, fetch its asset list, then download every asset of every
//! release concurrently (one task per file, in a `TaskGroup`), with a
//! progress line per file.
//!
//! ```sh
//! cargo run --release --features corio/hyper --example download               # releases v1.5 v1.6
//! cargo run --release --features corio/hyper --example download -- v1.6 v1.7
//! ```
//!
//! Like the seed (`python download-assets.py --download-dir jq stedolan/jq
//! jq-1.5 jq-1.6`), files land in a download directory (here, under the
//! system's temp directory).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use corio::hyper::{CorioTimer, HyperIo};
use corio::net::{TcpListener, TcpStream};
use corio::TaskGroup;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

/// The assets of a release: names and sizes.
fn assets(tag: &str) -> Vec<(String, usize)> {
    ["linux64", "osx-amd64", "win64.exe", "src.tar.gz"]
        .iter()
        .enumerate()
        .map(|(i, name)| (format!("{tag}-{name}"), 200_000 * (i + 1)))
        .collect()
}

/// The local "release server": `/releases/<tag>` lists assets (one
/// `name size` per line), `/assets/<tag>/<name>` serves `size` bytes.
async fn serve(req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    let path = req.uri().path().to_owned();
    let mut parts = path.trim_start_matches('/').split('/');
    let found = match (parts.next(), parts.next(), parts.next()) {
        (Some("releases"), Some(tag), None) => Some(
            assets(tag)
                .into_iter()
                .map(|(name, size)| format!("{name} {size}\n"))
                .collect::<String>(),
        ),
        (Some("assets"), Some(tag), Some(name)) => {
            match assets(tag).into_iter().find(|(n, _)| n == name) {
                Some((_, size)) => {
                    // Slow down the big ones a little, so the downloads overlap.
                    let pause = std::time::Duration::from_millis(size as u64 / 4_000);
                    corio::sleep(pause).await.ok();
                    Some("x".repeat(size))
                }
                None => None,
            }
        }
        _ => None,
    };
    let resp = match found {
        Some(body) => Response::new(body),
        None => {
            let mut r = Response::new(String::from("not found\n"));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    Ok(resp)
}

async fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    drop(corio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            drop(corio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(CorioTimer)
                    .serve_connection(HyperIo::new(stream), hyper::service::service_fn(serve))
                    .await;
            }));
        }
    }));
    addr
}

/// One GET on a fresh connection; calls `progress` with the bytes so far.
async fn get(
    addr: SocketAddr,
    path: &str,
    mut progress: impl FnMut(usize),
) -> Result<Vec<u8>, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, String>(HyperIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    drop(corio::spawn(conn));
    let req = Request::builder()
        .uri(path)
        .header("host", "localhost")
        .body(String::new())
        .unwrap();
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    if resp.status() != StatusCode::OK {
        return Err(format!("{path}: HTTP {}", resp.status()));
    }
    let mut body = resp.into_body();
    let mut data = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Some(chunk) = frame.data_ref() {
            data.extend_from_slice(chunk);
            progress(data.len());
        }
    }
    Ok(data)
}

async fn download_asset(
    addr: SocketAddr,
    tag: String,
    name: String,
    size: usize,
    dir: PathBuf,
) -> Result<(), String> {
    let start = Instant::now();
    let mut next_report = size / 2;
    let data = get(addr, &format!("/assets/{tag}/{name}"), |got| {
        if got >= next_report && got < size {
            println!("  {name}: {:>3}% ({got} of {size} bytes)", got * 100 / size);
            next_report = size;
        }
    })
    .await?;
    let path = dir.join(&name);
    // Small files: a blocking write is fine here (`to_thread` comes later).
    std::fs::write(&path, &data).map_err(|e| e.to_string())?;
    println!(
        "  {name}: done, {} bytes in {:.0?} -> {}",
        data.len(),
        start.elapsed(),
        path.display()
    );
    Ok(())
}

fn main() {
    let mut tags: Vec<String> = std::env::args().skip(1).collect();
    if tags.is_empty() {
        tags = vec!["v1.5".into(), "v1.6".into()];
    }
    let dir = std::env::temp_dir().join(format!("corio-download-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("download dir");
    corio::run(async move {
        let addr = start_server().await;
        println!(
            "release server on http://{addr}/, downloading into {}",
            dir.display()
        );
        let start = Instant::now();
        // The asset lists, one request per release, concurrently.
        let lists = corio::gather(tags.iter().map(|tag| {
            let path = format!("/releases/{tag}");
            async move { get(addr, &path, |_| {}).await }
        }))
        .await
        .expect("the listing tasks do not panic");
        // Every asset of every release, one task per file.
        let result = TaskGroup::<String>::run(|tg| async move {
            for (tag, list) in tags.iter().zip(lists) {
                let list = String::from_utf8(list?).map_err(|e| e.to_string())?;
                println!("{tag}: {} assets", list.lines().count());
                for line in list.lines() {
                    let (name, size) = line.split_once(' ').expect("name size");
                    let size: usize = size.parse().expect("a size");
                    drop(tg.spawn_try(download_asset(
                        addr,
                        tag.clone(),
                        name.to_owned(),
                        size,
                        dir.clone(),
                    )));
                }
            }
            Ok::<_, String>(())
        })
        .await;
        match result {
            Ok(Ok(())) => println!("all downloads done in {:.1?}", start.elapsed()),
            Ok(Err(e)) => eprintln!("listing failed: {e}"),
            Err(e) => eprintln!("downloads failed: {e}"),
        }
    });
}
