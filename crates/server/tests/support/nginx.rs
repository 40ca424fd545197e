//! Debian's nginx as the load balancer in front of several instances, started in the foreground
//! with a generated configuration and its own prefix directory; stopped when dropped. Shared by
//! the load-balancer test and the browser check through it; the includer declares this module
//! beside `redis` (`crates/relay/tests/support/redis.rs`), whose apt helper installs nginx.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
};

pub struct Nginx {
    pub port: u16,
    child: Child,
    prefix: PathBuf,
}

impl Nginx {
    /// Balances `127.0.0.1:PORT` round-robin over `pool`, except the path prefixes in `pinned`,
    /// each sent to one instance only (state that lives in one process, like the sandbox).
    pub fn start(pool: &[SocketAddr], pinned: &[(&str, SocketAddr)]) -> Nginx {
        let binary = nginx();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let prefix = std::env::temp_dir().join(format!("webhook-demo-nginx-{port}"));
        std::fs::create_dir_all(prefix.join("logs")).expect("nginx's directory");
        let servers: String = pool
            .iter()
            .map(|address| format!("    server {address};\n"))
            .collect();
        // What a deployment needs in front of the relay (docs/relay-protocol.md): no buffering
        // of event streams, HTTP/1.1 with keep-alive to the instances, the forwarding headers
        // (`$http_host`, which keeps the port, since this one listens on no standard port).
        let proxy = "proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n      \
                     proxy_set_header Host $http_host;\n      \
                     proxy_set_header X-Forwarded-Proto $scheme;\n      \
                     proxy_set_header X-Forwarded-Host $http_host;\n      \
                     proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n      \
                     proxy_buffering off;\n      proxy_read_timeout 60s;\n";
        let pinned: String = pinned
            .iter()
            .map(|(path, address)| {
                format!("    location {path} {{\n      proxy_pass http://{address};\n      {proxy}    }}\n")
            })
            .collect();
        let config = format!(
            "daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n\
             error_log {prefix}/logs/error.log;\nevents {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n\
             proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n\
             uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
             upstream pool {{\n{servers}    keepalive 16;\n  }}\n\
             server {{\n    listen 127.0.0.1:{port};\n{pinned}    location / {{\n\
             proxy_pass http://pool;\n      {proxy}    }}\n  }}\n}}\n",
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
    super::redis::debian_package(BINARY, "nginx", "the load-balancer tests");
    BINARY
}
