//! Two server instances on one Redis behind a real load balancer: Debian's nginx, started with a
//! generated configuration that sends requests to the instances in turn (round-robin), as a
//! deployment would. A page streams, sets its answer and answers hooks through the balancer
//! while the hooks land on both instances.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use webhook_demo_server::{Options, run};

#[path = "../../relay/tests/support/redis.rs"]
mod redis;

use redis::RedisServer;

/// nginx in the foreground with its own prefix directory; stopped when dropped.
struct Nginx {
    port: u16,
    child: Child,
    prefix: PathBuf,
}

impl Nginx {
    /// Balances `127.0.0.1:PORT` round-robin over `upstreams`.
    fn start(upstreams: &[std::net::SocketAddr]) -> Nginx {
        let binary = nginx();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let prefix = std::env::temp_dir().join(format!("webhook-demo-nginx-{port}"));
        std::fs::create_dir_all(prefix.join("logs")).expect("nginx's directory");
        let servers: String = upstreams
            .iter()
            .map(|address| format!("    server {address};\n"))
            .collect();
        // What a deployment needs in front of the relay (docs/relay-protocol.md): no buffering
        // of event streams, HTTP/1.1 with keep-alive to the instances, the forwarding headers
        // (`$http_host`, which keeps the port, since this one listens on no standard port).
        let config = format!(
            "daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n\
             error_log {prefix}/logs/error.log;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n\
             proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n\
             uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
             upstream relay {{\n{servers}    keepalive 16;\n  }}\n\
             server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
             proxy_pass http://relay;\n      proxy_http_version 1.1;\n\
             proxy_set_header Connection \"\";\n      proxy_set_header Host $http_host;\n\
             proxy_set_header X-Forwarded-Proto $scheme;\n\
             proxy_set_header X-Forwarded-Host $http_host;\n\
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
             proxy_buffering off;\n      proxy_read_timeout 60s;\n    }}\n  }}\n}}\n",
            prefix = prefix.display()
        );
        let file = prefix.join("nginx.conf");
        std::fs::write(&file, config).expect("writing nginx.conf");
        let mut child = Command::new(binary)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&file)
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting nginx");
        // nginx prints nothing when it starts well; its listening socket is the event to await,
        // and its standard error says why when it fails.
        let stderr = child.stderr.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("nginx: {line}");
            }
        });
        let mut nginx = Nginx {
            port,
            child,
            prefix,
        };
        nginx.wait_listening();
        nginx
    }

    fn wait_listening(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self.child.try_wait().expect("nginx's status");
            assert!(exited.is_none(), "nginx exited: {exited:?}");
            assert!(std::time::Instant::now() < deadline, "nginx did not listen");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master then ends its workers too, which a killed master
        // would leave running.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

/// Debian's nginx, installed first when it is missing and we may.
fn nginx() -> &'static str {
    const BINARY: &str = "/usr/sbin/nginx";
    redis::debian_package(BINARY, "nginx", "the load-balancer test");
    BINARY
}

/// A server instance on the Redis at `url`, trusting the balancer's forwarding headers.
async fn instance(url: &str) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let options = Options {
        no_sandbox: true,
        trust_forwarded: true,
        store: Some(url.parse().expect("a Redis address")),
        ..Options::default()
    };
    tokio::spawn(async move { run(listener, &options, std::future::pending()).await });
    address
}

/// A counter's value in an instance's `/metrics`.
async fn counter(client: &reqwest::Client, address: std::net::SocketAddr, name: &str) -> u64 {
    let text = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_page_works_through_a_round_robin_balancer() {
    let redis = RedisServer::start();
    let upstreams = [instance(&redis.url()).await, instance(&redis.url()).await];
    let nginx = Nginx::start(&upstreams);
    let base = format!("http://127.0.0.1:{}", nginx.port);
    let client = reqwest::Client::new();

    let response = client.get(format!("{base}/relay/stream")).send().await;
    let mut events = response.expect("stream").bytes_stream().eventsource();
    let start: Value =
        serde_json::from_str(&events.next().await.expect("start").expect("SSE").data)
            .expect("start data");
    let hook_url = start["hookUrl"].as_str().expect("hookUrl").to_owned();
    assert!(
        hook_url.starts_with(&format!("{base}/relay/hook/")),
        "{hook_url}"
    );
    let control = start["controlUrl"].as_str().expect("controlUrl");
    let set = client
        .post(control)
        .json(&json!({"status": 202}))
        .send()
        .await;
    assert_eq!(set.expect("control").status(), 200);

    for n in 0..10 {
        let sent = client.post(&hook_url).body(n.to_string()).send().await;
        assert_eq!(
            sent.expect("hook").status(),
            202,
            "the answer set through the balancer"
        );
    }
    let mut bodies = Vec::new();
    while bodies.len() < 10 {
        let event = events.next().await.expect("an event").expect("SSE");
        if event.event == "hook" {
            let data: Value = serde_json::from_str(&event.data).expect("hook data");
            bodies.push(data["body"].as_str().expect("text").to_owned());
        }
    }
    let expected: Vec<String> = (0..10).map(|n: i32| n.to_string()).collect();
    assert_eq!(bodies, expected);
    for upstream in upstreams {
        let received = counter(&client, upstream, "relay_hooks_received_total").await;
        assert!(received > 0, "round-robin sent no hook to {upstream}");
    }
}
