//! A TCP proxy on a real loopback socket, between the app and PostgreSQL or Redis, that a fault test
//! cuts and restores: a cut closes every connection through it and, until restored, accepts new ones
//! only to close them at once, as a server that went away does. The shared servers are never stopped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct TcpProxy {
    pub port: u16,
    cut: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepting: JoinHandle<()>,
}

impl TcpProxy {
    /// A proxy on a free loopback port to `target` (`host:port`), passing traffic.
    pub async fn start(target: &str) -> TcpProxy {
        let target: SocketAddr = tokio::net::lookup_host(target).await.unwrap().next().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (cut_flag, live) = (cut.clone(), connections.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if cut_flag.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                let piping = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else { return };
                    let (mut client, mut server) = (client, server);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
                let mut live = live.lock().unwrap();
                live.retain(|task| !task.is_finished());
                live.push(piping);
            }
        });
        TcpProxy { port, cut, connections, accepting }
    }

    /// The target's address as `host:port` from a URL such as `redis://127.0.0.1:6379` or
    /// `postgres://postgres@127.0.0.1:5432`.
    pub fn host_port(url: &str) -> String {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
        rest.split(['/', '?']).next().unwrap().to_owned()
    }

    /// Closes every connection through the proxy and refuses new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.cut.store(true, Ordering::Release);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::Release);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}
