//! The tutorial behind a real load balancer, as it is deployed for many learners: server
//! instances sharing one Redis, each on a tokio runtime of its own so it can be killed (every
//! task, connection and subscription dropped at once, as SIGKILL would) and started again on the
//! same port; Debian's nginx in front (`crates/server/tests/support/nginx.rs`).

use std::net::SocketAddr;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webhook_demo_server::Options;

#[path = "../../crates/server/tests/support/nginx.rs"]
pub mod nginx;
#[path = "../../crates/relay/tests/support/redis.rs"]
pub mod redis;

/// Two instances on one Redis behind a round-robin nginx, nothing pinned: the relay's sessions
/// and the sandbox's worlds (one per sign-in) live in Redis, so either instance serves any
/// request.
pub struct Balanced {
    pub redis: redis::RedisServer,
    pub instances: [Instance; 2],
    pub nginx: nginx::Nginx,
    /// The page's URL through the balancer, with its trailing slash.
    pub url: String,
}

impl Balanced {
    pub fn start() -> Result<Balanced> {
        let redis = redis::RedisServer::start();
        let options = Options {
            trust_forwarded: true,
            store: Some(redis.url().parse().map_err(anyhow::Error::msg)?),
            sandbox_worlds: Some(webhook_demo_sandbox::WorldsMode::PerSignIn),
            ..Options::default()
        };
        let instances = [Instance::start(options.clone())?, Instance::start(options)?];
        let nginx = nginx::Nginx::start(&[instances[0].addr, instances[1].addr], &[]);
        let url = format!("http://127.0.0.1:{}/", nginx.port);
        Ok(Balanced {
            redis,
            instances,
            nginx,
            url,
        })
    }
}

/// One `webhook-demo serve` on its own runtime.
pub struct Instance {
    pub addr: SocketAddr,
    options: Options,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Instance {
    /// Starts an instance on a free loopback port.
    pub fn start(options: Options) -> Result<Instance> {
        let mut instance = Instance {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            options,
            runtime: None,
        };
        instance.restart()?;
        Ok(instance)
    }

    /// Starts the instance (again, on the same port once it has one).
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let (addr, options) = (self.addr, self.options.clone());
        // A runtime cannot be started from inside the check's own: set it up on its own thread.
        let (runtime, addr) = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            let addr = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr).await?;
                let addr = listener.local_addr()?;
                tokio::spawn(async move {
                    let stopped = std::future::pending();
                    webhook_demo_server::run(listener, &options, stopped).await
                });
                Ok::<_, std::io::Error>(addr)
            })?;
            Ok::<_, std::io::Error>((runtime, addr))
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the instance's thread panicked"))?
        .with_context(|| format!("starting an instance on {addr}"))?;
        self.addr = addr;
        self.runtime = Some(runtime);
        Ok(())
    }

    /// Ends the instance abruptly: no shutdown, no goodbye to its clients or to Redis.
    pub fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// A value of the instance's `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> Result<f64> {
        let mut socket = tokio::net::TcpStream::connect(self.addr).await?;
        let request = format!(
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        socket.write_all(request.as_bytes()).await?;
        let mut text = String::new();
        socket.read_to_string(&mut text).await?;
        Ok(text
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}
