//! The test harness of the tests that run `twin` processes (tests/mqtt.rs,
//! tests/mqtt_gateways.rs, tests/crash.rs, tests/history.rs): a mosquitto broker per
//! test, `twin` processes whose output is collected while they run, and the
//! reference readers' Python.

// Shared by several test binaries; each uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value as Json;
use twin_chongming::synth::SynthConfig;
use twin_core::SensorType;
use twin_core::{AssetKind, Handle, Twin};

const MOSQUITTO: &str = "/usr/sbin/mosquitto";
pub const LONG: Duration = Duration::from_secs(180);

pub fn have_mosquitto(test: &str) -> bool {
    if Path::new(MOSQUITTO).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have {MOSQUITTO} (Debian package mosquitto)"
    );
    eprintln!("{test}: {MOSQUITTO} is not installed; skipping");
    false
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("twin-mqtt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A mosquitto process with its config, persistence directory and log under `dir`.
pub struct Broker {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Broker {
    pub fn start(dir: &Path) -> Broker {
        for _ in 0..5 {
            let mut b = Broker {
                port: free_port(),
                dir: dir.to_path_buf(),
                child: None,
            };
            if b.launch() {
                return b;
            }
        }
        panic!("mosquitto did not start on a free port: {}", self_log(dir));
    }

    /// Starts mosquitto on `self.port`; false if it exited at once (port taken).
    fn launch(&mut self) -> bool {
        let data = self.dir.join("persistence");
        std::fs::create_dir_all(&data).unwrap();
        // Started as root, mosquitto runs as the `mosquitto` user: let it write here.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let conf = self.dir.join("mosquitto.conf");
        // Messages for a subscriber beyond its in-flight window are queued; mosquitto
        // drops those past `max_queued_messages` (default 1000), so: no limit. It saves
        // its database on a clean stop and every `autosave_interval` seconds (1800 by
        // default): every second here, so a broker killed hard loses at most a second.
        std::fs::write(
            &conf,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_queued_messages 0\nautosave_interval 1\n",
                self.port,
                data.display()
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mosquitto.log"))
            .unwrap();
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&conf)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && c.try_wait().unwrap().is_some()
            {
                self.child = None;
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "mosquitto did not listen on {}: {}",
            self.port,
            self_log(&self.dir)
        );
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// SIGTERM (mosquitto saves its persistence file) and wait until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while c.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    panic!("mosquitto ignored SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Kills it with SIGKILL: it saves nothing more.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again (after [`Broker::kill`]) on the same port and directory.
    pub fn start_again(&mut self) {
        assert!(self.launch(), "port {} was taken", self.port);
    }

    /// Stops it and starts it again on the same port and persistence directory.
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.launch(),
            "port {} was taken during the restart",
            self.port
        );
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn self_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("mosquitto.log")).unwrap_or_default()
}

/// A `twin` process whose stdout and stderr are collected as they come.
pub struct Proc {
    name: String,
    child: Option<Child>,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

fn collect(r: impl std::io::Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    })
}

pub fn twin(name: &str, args: &[&str]) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = (Arc::default(), Arc::default());
    let readers = vec![
        collect(child.stdout.take().unwrap(), Arc::clone(&out)),
        collect(child.stderr.take().unwrap(), Arc::clone(&err)),
    ];
    Proc {
        name: name.into(),
        child: Some(child),
        out,
        err,
        readers,
    }
}

impl Proc {
    fn output(&self) -> String {
        format!(
            "--- {} stdout:\n{}--- stderr:\n{}",
            self.name,
            self.out.lock().unwrap(),
            self.err.lock().unwrap()
        )
    }

    /// What it printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits until stdout contains `what`.
    pub fn wait_for(&mut self, what: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.out.lock().unwrap().contains(what) {
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            assert!(
                exited.is_none(),
                "exited before `{what}`:\n{}",
                self.output()
            );
            assert!(Instant::now() < deadline, "no `{what}`:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit; returns the status and stdout.
    pub fn finish(mut self, timeout: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        let mut child = self.child.take().unwrap();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("did not finish in {timeout:?}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        assert!(status.success(), "failed: {status}\n{}", self.output());
        (status, self.out.lock().unwrap().clone())
    }
}

impl Proc {
    /// Sends SIGINT (Ctrl-C), waits for a clean exit and returns what it printed.
    pub fn interrupt(mut self, timeout: Duration) -> String {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + timeout;
        let mut child = self.child.take().unwrap();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "no exit after SIGINT:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        assert!(status.success(), "failed: {status}\n{}", self.output());
        self.output()
    }

    /// Kills it with SIGKILL (it can write nothing more) and returns what it printed.
    pub fn kill(mut self) -> String {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.output()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn read_json(p: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

pub fn row<'a>(report: &'a Json, id: &str) -> &'a Json {
    report["vital_signs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id}"))
}

pub fn island(scale: f64) -> Twin {
    twin_chongming::island::load(&SynthConfig { seed: 2026, scale }).unwrap()
}

pub fn sensors_of(twin: &Twin, t: SensorType) -> Vec<Handle> {
    twin.iter()
        .filter(|(_, a)| a.kind == AssetKind::Sensor(t.clone()))
        .map(|(h, _)| h)
        .collect()
}

/// Publishes with QoS 1 in order and waits until the broker has acknowledged all.
pub fn publish_all(port: u16, msgs: &[(String, String)]) {
    let mut o = MqttOptions::new("twin-test-publisher", "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    let (client, mut conn) = Client::new(o, msgs.len() + 10);
    for (t, p) in msgs {
        client
            .publish(t.as_str(), QoS::AtLeastOnce, false, p.as_bytes())
            .unwrap();
    }
    let (mut acked, deadline) = (0, Instant::now() + LONG);
    while acked < msgs.len() {
        assert!(Instant::now() < deadline, "{acked} of {} acked", msgs.len());
        match conn.recv_timeout(Duration::from_secs(1)) {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Err(_)) => std::thread::sleep(Duration::from_millis(100)),
            _ => {}
        }
    }
    client.disconnect().unwrap();
    let _ = conn.recv_timeout(Duration::from_secs(1));
}

/// The Python with the reference readers (DuckDB, pyarrow): `$TWIN_PYTHON`, which
/// scripts/test sets from scripts/pyenv, or scripts/pyenv's.
pub fn reference_python() -> String {
    std::env::var("TWIN_PYTHON").unwrap_or_else(|_| {
        let o = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pyenv"))
            .output()
            .expect("scripts/pyenv");
        assert!(
            o.status.success(),
            "scripts/pyenv: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    })
}
