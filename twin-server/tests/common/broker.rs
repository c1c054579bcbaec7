//! A real mosquitto for the tests that need a broker, with Debian's `mosquitto_pub`
//! as the publisher and curl as the HTTP client.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use twin_server::Running;

use super::VIEWER;

pub const MOSQUITTO: &str = "/usr/sbin/mosquitto";
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh directory for one broker. Tests of one binary run in parallel, so the
/// name carries a counter besides the process id: two brokers started under the
/// same name (as two tests once did) must not remove each other's files.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("twin-serve-mqtt-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    // mosquitto started as root reads its files as the `mosquitto` user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    d
}

/// mosquitto with a password file (user `twin`, password `secret`), a plain listener
/// and a TLS listener with a certificate for localhost / 127.0.0.1.
pub struct Broker {
    pub port: u16,
    pub tls_port: u16,
    pub ca: PathBuf,
    child: Child,
    dir: PathBuf,
}

impl Broker {
    pub fn start(name: &str) -> Broker {
        let dir = temp_dir(name);
        let pw = dir.join("pw");
        let out = Command::new("mosquitto_passwd")
            .args(["-c", "-b"])
            .arg(&pw)
            .args(["twin", "secret"])
            .output()
            .expect("mosquitto_passwd runs (Debian mosquitto)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .unwrap();
        let (ca, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&ca, cert.pem()).unwrap();
        std::fs::write(&key, signing_key.serialize_pem()).unwrap();
        #[cfg(unix)]
        for f in [&pw, &ca, &key] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let (port, tls_port) = (free_port(), free_port());
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "per_listener_settings true\nmax_queued_messages 0\n\
                 listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n\
                 listener {tls_port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n\
                 certfile {ca}\nkeyfile {key}\n",
                pw = pw.display(),
                ca = ca.display(),
                key = key.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("mosquitto.log")).unwrap();
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&conf)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("mosquitto starts (Debian mosquitto)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", tls_port)).is_err()
            || TcpStream::connect(("127.0.0.1", port)).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen: {}",
                std::fs::read_to_string(dir.join("mosquitto.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Broker {
            port,
            tls_port,
            ca,
            child,
            dir,
        }
    }

    /// Publishes with mosquitto_pub (QoS 1) on the plain listener, or the TLS one.
    pub fn publish(&self, topic: &str, payload: &str, tls: bool) {
        let mut c = Command::new("mosquitto_pub");
        c.args([
            "-h",
            "127.0.0.1",
            "-q",
            "1",
            "-u",
            "twin",
            "-P",
            "secret",
            "-t",
            topic,
            "-m",
            payload,
        ]);
        if tls {
            c.args([
                "-h",
                "localhost",
                "-p",
                &self.tls_port.to_string(),
                "--cafile",
            ])
            .arg(&self.ca);
        } else {
            c.args(["-p", &self.port.to_string()]);
        }
        let out = c
            .output()
            .expect("mosquitto_pub runs (Debian mosquitto-clients)");
        assert!(
            out.status.success(),
            "mosquitto_pub: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn get(server: &Running, path: &str, token: &str) -> Value {
    let out = Command::new("curl")
        .args(["-s", "-H", &format!("Authorization: Bearer {token}")])
        .arg(format!("http://{}{path}", server.addr()))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Waits (up to 20 s) until `f` holds for the answer at `path`.
pub fn wait_for(server: &Running, path: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = get(server, path, VIEWER);
        if f(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{path}: still {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Whether mosquitto is installed (CI must have it).
pub fn have_tools() -> bool {
    let ok = Path::new(MOSQUITTO).exists();
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "CI must have mosquitto"
    );
    ok
}
