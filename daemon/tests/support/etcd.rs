//! A 3-member etcd cluster (Debian's `etcd-server`, v3.4) for the tests of a pair's
//! leadership: started on 127.0.0.1 ([`EtcdCluster::start`]) or on one loopback
//! address per member ([`EtcdCluster::start_on`], e.g. 127.0.0.2–4), ports probed free
//! from :0, in a temporary directory, killed when dropped (also on failure).

use kefu_daemon::cluster::etcd::Etcd;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Three etcd members, killed when dropped.
pub struct EtcdCluster {
    members: Vec<Option<Child>>,
    /// The members' client addresses.
    pub clients: Vec<SocketAddr>,
    _dir: tempfile::TempDir,
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for child in self.members.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port the kernel just handed out on 127.0.0.1 (free a moment ago).
pub fn free_port() -> u16 {
    free_addr(IpAddr::V4(Ipv4Addr::LOCALHOST)).port()
}

/// An address on `ip` (a loopback address) whose port the kernel just handed out.
pub fn free_addr(ip: IpAddr) -> SocketAddr {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// 127.0.0.`last`: Linux routes all of 127.0.0.0/8 to the loopback interface, so each
/// member of a test's cluster can have an address of its own without any setup.
pub fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

impl EtcdCluster {
    /// Starts three members on 127.0.0.1 and waits until each answers.
    pub fn start() -> EtcdCluster {
        EtcdCluster::start_on([IpAddr::V4(Ipv4Addr::LOCALHOST); 3])
    }

    /// Starts member `i` on `ips[i]` (client and peer ports probed free there) and waits
    /// until each answers.
    pub fn start_on(ips: [IpAddr; 3]) -> EtcdCluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let ports: Vec<(SocketAddr, SocketAddr)> = ips
            .iter()
            .map(|ip| (free_addr(*ip), free_addr(*ip)))
            .collect();
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}=http://{peer}"))
            .collect();
        let mut cluster = EtcdCluster {
            members: Vec::new(),
            clients: Vec::new(),
            _dir: tempfile::tempdir().expect("tempdir"),
        };
        for (i, (client, peer)) in ports.iter().enumerate() {
            let child = Command::new("etcd")
                .args(["--name", &format!("m{i}")])
                .arg("--data-dir")
                .arg(dir.path().join(format!("m{i}")))
                .args(["--listen-client-urls", &format!("http://{client}")])
                .args(["--advertise-client-urls", &format!("http://{client}")])
                .args(["--listen-peer-urls", &format!("http://{peer}")])
                .args(["--initial-advertise-peer-urls", &format!("http://{peer}")])
                .args(["--initial-cluster", &initial.join(",")])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "kefu-test"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("etcd starts (apt-get install etcd-server)");
            cluster.members.push(Some(child));
            cluster.clients.push(*client);
        }
        cluster._dir = dir;
        // Ready when every member answers a read.
        let deadline = Instant::now() + Duration::from_secs(60);
        for addr in cluster.clients.clone() {
            let one = Etcd::new(vec![addr], Duration::from_secs(2));
            while one.get(b"/kefu/probe").is_err() {
                assert!(Instant::now() < deadline, "etcd member {addr} not ready");
                std::thread::yield_now();
            }
        }
        cluster
    }

    /// A client of all three.
    pub fn client(&self) -> Etcd {
        Etcd::new(self.clients.clone(), Duration::from_secs(2))
    }

    /// SIGKILLs member `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }
}
