//! A real `redis-server` (Debian's) for tests, on a free loopback port, with nothing saved to
//! disk. Installed with apt when missing and running as root, as the browser tests do for
//! Chromium; otherwise the test fails saying what to install. Killed when dropped.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Mutex, PoisonError},
    time::Duration,
};

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    /// Where Redis appends every write before acknowledging it (`appendfsync always`), so a
    /// Redis killed and restarted keeps everything it acknowledged, as a production one would.
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a fresh, empty Redis on a free port and waits until it answers.
    pub fn start() -> RedisServer {
        // A free port: the kernel picks one, and the listener is closed just before Redis binds it.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let dir = std::env::temp_dir().join(format!("webhook-demo-redis-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for Redis");
        let mut server = RedisServer {
            port,
            child: None,
            dir,
        };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills Redis (SIGKILL: nothing is saved, as in a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts Redis again on the same port, with what it had acknowledged.
    pub fn restart(&mut self) {
        self.stop();
        let binary = redis_server();
        let mut child = Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .args(["--daemonize", "no", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        // Redis logs to standard output; its "Ready" line is the event to wait for. The thread
        // goes on reading, so Redis never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped");
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = ready.send(());
                }
            }
        });
        self.child = Some(child);
        started
            .recv_timeout(Duration::from_secs(10))
            .expect("redis-server did not start");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `redis-server` binary, installed first when it is missing and we may.
fn redis_server() -> &'static str {
    const BINARY: &str = "/usr/bin/redis-server";
    debian_package(BINARY, "redis-server", "the Redis store's tests");
    BINARY
}

/// Makes sure `binary` is there: installs Debian's `package` with apt when it is missing and we
/// run as root; otherwise fails saying what `who` needs installed.
pub fn debian_package(binary: &str, package: &str, who: &str) {
    // One install at a time: tests run on several threads.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _installing = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
    if std::path::Path::new(binary).exists() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    assert!(
        root,
        "{who} need Debian's {package}: apt-get install {package}"
    );
    for args in [
        &["update"][..],
        &["install", "-y", "--no-install-recommends", package][..],
    ] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .expect("running apt-get");
        assert!(status.success(), "apt-get {args:?} failed");
    }
}
