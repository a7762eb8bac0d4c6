//! A chat server: one task per client, a queue per client, and a room task
//! that broadcasts what each client says to the others.
//!
//! ```sh
//! cargo run --release --example chat            # 127.0.0.1:7879
//! cargo run --release --example chat -- 0.0.0.0:9000
//! ```
//!
//! Try it with two or more `nc 127.0.0.1 7879` sessions: each asks for a
//! name, then every line one client types reaches the others. Ctrl-C stops
//! the server (the runtime cancels every task).
//!
//! The pieces, all `corio::sync` queues:
//!
//! * the room's inbox, a `Queue<Event>`: clients put their joins, lines
//!   and leaves there, and the room task takes them in order;
//! * each client's outbox, a bounded `Queue<String>`: the room puts the
//!   lines for that client there with `put_nowait`, so one slow client
//!   never holds up the room (when its outbox is full, it misses lines and
//!   is told so); the client's writer task takes them and writes them to
//!   its socket. When the client leaves, the room shuts the outbox down:
//!   the writer sends what is left and ends.

use std::collections::HashMap;
use std::net::SocketAddr;

use corio::net::{AsyncBufReadExt, AsyncWriteExt, BufReader, TcpListener, TcpStream};
use corio::sync::{GetError, Queue, TryPutError};

/// Lines a client's outbox holds before it starts missing some.
const OUTBOX: usize = 64;

enum Event {
    Join {
        peer: SocketAddr,
        name: String,
        outbox: Queue<String>,
    },
    Line {
        peer: SocketAddr,
        text: String,
    },
    Leave {
        peer: SocketAddr,
    },
}

struct Member {
    name: String,
    outbox: Queue<String>,
    missed: bool,
}

/// The room: takes events in order and broadcasts.
async fn room(inbox: Queue<Event>) {
    let mut members: HashMap<SocketAddr, Member> = HashMap::new();
    while let Ok(event) = inbox.get().await {
        let (from, line) = match event {
            Event::Join { peer, name, outbox } => {
                let others: Vec<_> = members.values().map(|m| m.name.clone()).collect();
                let _ = outbox.put_nowait(if others.is_empty() {
                    format!("welcome, {name}: you are alone here\n")
                } else {
                    format!("welcome, {name}: here are {}\n", others.join(", "))
                });
                let line = format!("* {name} joined\n");
                members.insert(
                    peer,
                    Member {
                        name,
                        outbox,
                        missed: false,
                    },
                );
                (peer, line)
            }
            Event::Line { peer, text } => match members.get(&peer) {
                Some(m) => (peer, format!("{}: {text}\n", m.name)),
                None => continue,
            },
            Event::Leave { peer } => match members.remove(&peer) {
                Some(m) => {
                    // The writer sends what is left, then ends.
                    m.outbox.shutdown(false);
                    (peer, format!("* {} left\n", m.name))
                }
                None => continue,
            },
        };
        print!("{line}");
        for (peer, m) in members.iter_mut().filter(|(p, _)| **p != from) {
            match m.outbox.put_nowait(line.clone()) {
                Ok(()) => m.missed = false,
                Err(TryPutError::Full(_)) if !m.missed => {
                    m.missed = true;
                    eprintln!("{peer} ({}) is slow: it misses lines", m.name);
                }
                Err(_) => {}
            }
        }
    }
}

/// One client: asks for a name, joins, and passes each line to the room.
async fn client(stream: TcpStream, peer: SocketAddr, inbox: Queue<Event>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"name? ").await.is_err() {
        return;
    }
    let mut name = String::new();
    match lines.read_line(&mut name).await {
        Ok(n) if n > 0 && !name.trim().is_empty() => {}
        _ => return,
    }
    let name = name.trim().to_owned();

    let outbox = Queue::<String>::new(OUTBOX);
    let writer = corio::spawn({
        let outbox = outbox.clone();
        async move {
            loop {
                match outbox.get().await {
                    Ok(line) => {
                        if write.write_all(line.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                    Err(GetError::ShutDown) => break,
                    Err(GetError::Cancelled(c)) => return Err(c),
                }
            }
            Ok(())
        }
    });
    if inbox.put(Event::Join { peer, name, outbox }).await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = line.trim_end().to_owned();
                if inbox.put(Event::Line { peer, text }).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = inbox.put(Event::Leave { peer }).await;
    let _ = writer.await;
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7879".to_owned());
    corio::run(async move {
        let listener = TcpListener::bind(&*addr).await.expect("bind");
        println!("chat server on {}", listener.local_addr().unwrap());
        let inbox = Queue::new(0);
        let room = corio::spawn(room(inbox.clone()));
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) if corio::net::is_cancelled(&e) => break, // Ctrl-C
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    continue;
                }
            };
            drop(corio::spawn(client(stream, peer, inbox.clone())));
        }
        inbox.shutdown(true);
        let _ = room.await;
    });
}
