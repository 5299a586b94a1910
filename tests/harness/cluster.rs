//! A local cluster of `bandsync serve` nodes, as on separate machines but on loopback: a Postgres
//! of its own ([`crate::postgres`]), N nodes sharing it, and HAProxy in front routing members by
//! session id (consistent hashing on `/ws?session=ID`, `/doc/ID`, `/s/ID`, `/api/sessions/ID`).
//! Nodes can be killed (-9), drained (SIGTERM) and restarted on their own ports.

use crate::partition::PartitionLink;
use crate::postgres::PgServer;
use crate::process::{Proc, require, run};
use crate::webdriver::free_port;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A node's lease time in the cluster: the longest a dead node's sessions wait.
pub const LEASE_MS: u64 = 1500;

/// How long a node waits for a statement before it gives its connection up (ms).
const DATABASE_TIMEOUT_MS: &str = "2000";

struct Node {
    name: String,
    port: u16,
    proc: Option<Proc>,
    /// Its link to Postgres, where the test may partition it.
    link: Option<PartitionLink>,
    /// The database URL it is given: through its link, if it has one.
    database: String,
}

/// A running cluster.
pub struct Cluster {
    /// Its Postgres.
    pub pg: PgServer,
    /// The database the nodes share (`postgres://…`).
    pub database: String,
    nodes: Vec<Node>,
    proxy: Child,
    /// The proxy's address, `127.0.0.1:PORT`: what members and organizers reach.
    pub addr: String,
    dir: PathBuf,
    /// The members the cluster is sized for ([`Cluster::start_for`]); 0 for the defaults.
    members: usize,
    /// The clock-sync cadence its nodes ask members for (`serve --clock-ping-ms`), if not theirs.
    ping_ms: Option<u32>,
}

impl Cluster {
    /// Postgres, `n` nodes, and the proxy, all up.
    ///
    /// # Panics
    /// When a part is missing (scripts/test.sh installs them) or does not come up.
    #[must_use]
    pub fn start(n: usize) -> Cluster {
        Cluster::start_with(n, false, 0, None)
    }

    /// [`Cluster::start`], sized for `members` members: the proxy and every node can hold them
    /// all (after a death, the survivors hold the dead node's share too), past the defaults'
    /// 4 096 connections and 2 048 sessions. Its nodes ask members for a ping every `ping_ms`
    /// when given.
    #[must_use]
    pub fn start_for(n: usize, members: usize, ping_ms: Option<u32>) -> Cluster {
        Cluster::start_with(n, false, members, ping_ms)
    }

    /// [`Cluster::start`], each node reaching Postgres through a link of its own that the test
    /// can partition ([`Cluster::partition`]).
    #[must_use]
    pub fn start_partitionable(n: usize) -> Cluster {
        Cluster::start_with(n, true, 0, None)
    }

    fn start_with(n: usize, links: bool, members: usize, ping_ms: Option<u32>) -> Cluster {
        let pg = PgServer::start();
        let database = pg.database("bandsync");
        let dir = pg.dir().join("cluster");
        std::fs::create_dir_all(&dir).unwrap();
        let pg_addr: std::net::SocketAddr = database
            .split_once('@')
            .and_then(|(_, rest)| rest.split_once('/'))
            .and_then(|(addr, _)| addr.parse().ok())
            .expect("the database URL names 127.0.0.1:PORT");
        let nodes: Vec<Node> = (1..=n)
            .map(|i| {
                let link = links.then(|| PartitionLink::start(pg_addr));
                let database = link.as_ref().map_or_else(
                    || database.clone(),
                    |l| database.replacen(&pg_addr.to_string(), &l.addr.to_string(), 1),
                );
                Node { name: format!("n{i}"), port: free_port(), proc: None, link, database }
            })
            .collect();
        let port = free_port();
        let stats = dir.join("haproxy.sock");
        // HAProxy counts a member once and reserves two descriptors for it (in and out): 10 000
        // members need a hard open-file limit over 20 000.
        let maxconn = (members + 500).max(4000);
        // A node is checked every 200 ms and out after two failed checks: a killed node refuses at
        // once, and is out within 400 ms, well within its leases (1.5 s here: SCALING.md's rule,
        // `inter` × `fall` well within `--lease-ms`). Out after one, a live node busy taking
        // sessions over was taken out once a run (a check's connect must finish within the
        // interval, whatever `timeout check` says), and its sessions moved with nobody killed.
        // Out after two checks 500 ms apart, a dead node was sometimes still in when its leases
        // ran out: the members sent back then reached any node, which took their sessions, and
        // the nodes the hash names asked for them a lease time later (783 hand-overs in a run).
        //
        // A request that names a session goes only to the node its hash names (`nodes`): no
        // retry, no redispatch. While the proxy has not yet noticed a death, a member of a dead
        // node's session gets a 503 at once and retries; from then on it reaches the node the
        // hash names, which takes the session as the dead node's lease runs out. Redispatched to
        // any node, members waited on nodes off the hash, which sent them back through the proxy
        // when the lease ran out (a reconnect for nearly every session that moved). Requests that
        // name no session (the page's files, creating a session) go to any node that is up
        // (`any`, whose servers follow `nodes`' checks).
        let mut cfg = format!(
            "global\n  maxconn {maxconn}\n  stats socket {}\n\
             defaults\n  mode http\n  timeout connect 500ms\n  timeout client 1m\n  timeout server 1m\n  \
             timeout tunnel 1h\n\
             frontend members\n  bind 127.0.0.1:{port}\n  \
             http-request set-var(txn.sid) url_param(session)\n  \
             http-request set-var(txn.sid) path,field(3,/) if {{ path_beg /doc/ /s/ }}\n  \
             http-request set-var(txn.sid) path,field(4,/) if {{ path_beg /api/sessions/ }}\n  \
             use_backend nodes if {{ var(txn.sid) -m found }}\n  \
             default_backend any\n\
             backend nodes\n  balance hash var(txn.sid)\n  hash-type consistent\n  retries 0\n  \
             option httpchk\n  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost\n  \
             http-check expect status 200\n  \
             timeout check 2s\n  default-server inter 200ms fall 2 rise 2\n",
            stats.display()
        );
        // The client's address rides in a PROXY header, so each node's limits per source address
        // count members, not the proxy.
        for node in &nodes {
            let Node { name, port, .. } = node;
            cfg.push_str(&format!("  server {name} 127.0.0.1:{port} check send-proxy check-send-proxy\n"));
        }
        cfg.push_str("backend any\n  balance roundrobin\n  retries 2\n  option redispatch 1\n");
        for node in &nodes {
            let Node { name, port, .. } = node;
            cfg.push_str(&format!("  server {name} 127.0.0.1:{port} track nodes/{name} send-proxy\n"));
        }
        let cfg_path = dir.join("haproxy.cfg");
        std::fs::write(&cfg_path, cfg).unwrap();
        let proxy = Command::new(require("haproxy", "haproxy"))
            .args(["-db", "-f"])
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .spawn()
            .expect("haproxy starts");
        let mut c = Cluster { pg, database, nodes, proxy, addr: format!("127.0.0.1:{port}"), dir, members, ping_ms };
        for i in 0..n {
            c.start_node(i);
        }
        // The proxy checked the nodes before they listened, and marked them down: it routes to a
        // node again after two good checks. Ready when it sees every node up (a request before
        // that gets the proxy's 503).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = c.proxy.try_wait().unwrap() {
                panic!("haproxy exited ({st}); its configuration is {}", cfg_path.display());
            }
            let up = proxy_status(&stats);
            if up.len() == n && up.iter().all(|(_, status)| status == "UP") {
                break;
            }
            assert!(Instant::now() < deadline, "the proxy did not see every node up in 10 s: {up:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        c
    }

    /// Starts node `i` (again) on its port.
    pub fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let bind = format!("127.0.0.1:{}", node.port);
        let lease = LEASE_MS.to_string();
        let mut args: Vec<String> = [
            "serve",
            "--bind",
            &bind,
            "--database",
            &node.database,
            "--node",
            &node.name,
            "--lease-ms",
            &lease,
            "--database-timeout-ms",
            DATABASE_TIMEOUT_MS,
            "--proxy-protocol-from",
            "127.0.0.1",
            "--json",
        ]
        .map(String::from)
        .into();
        if self.members > 0 {
            let most = (self.members + 256).to_string();
            args.extend(["--max-connections".into(), most.clone(), "--max-sessions".into(), most]);
        }
        if let Some(ms) = self.ping_ms {
            args.extend(["--clock-ping-ms".into(), ms.to_string()]);
        }
        let mut p = Proc::bandsync(&args);
        p.event("serving");
        node.proc = Some(p);
    }

    /// Cuts node `i` off from Postgres: nothing it sends reaches the database, nothing comes back,
    /// and nothing is closed ([`PartitionLink::partition`]). For a cluster made by
    /// [`Cluster::start_partitionable`].
    ///
    /// # Panics
    /// If node `i` has no link.
    pub fn partition(&self, i: usize) {
        self.nodes[i].link.as_ref().expect("a partitionable cluster").partition();
    }

    /// Ends node `i`'s partition ([`PartitionLink::heal`]): its new connections to Postgres get through;
    /// those it made before stay unanswered.
    ///
    /// # Panics
    /// If node `i` has no link.
    pub fn heal(&self, i: usize) {
        self.nodes[i].link.as_ref().expect("a partitionable cluster").heal();
    }

    /// Whether the proxy routes to node `i`: its health checks pass.
    #[must_use]
    pub fn in_service(&self, i: usize) -> bool {
        let name = &self.nodes[i].name;
        proxy_status(&self.dir.join("haproxy.sock")).iter().any(|(n, status)| n == name && status == "UP")
    }

    /// Kills node `i` outright (SIGKILL), as a machine dying would.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut p) = self.nodes[i].proc.take() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// Drains node `i` (SIGTERM) and waits for it to exit.
    ///
    /// # Panics
    /// When it does not exit cleanly.
    pub fn drain(&mut self, i: usize) {
        if let Some(mut p) = self.nodes[i].proc.take() {
            p.terminate();
            assert_eq!(p.exit_code(), 0, "a drained node exits cleanly");
        }
    }

    /// The index of the node named on `session`'s lease: its holder, or its last holder if the
    /// lease has run out or was released (`None` if it never had one).
    #[must_use]
    pub fn owner(&self, session: &str) -> Option<usize> {
        self.owners(&[session])[0]
    }

    /// [`Cluster::owner`] of each of `sessions`, in one read: the cluster bench reads a thousand
    /// before each kill. One connection each took seconds on a busy machine (the owners it read
    /// first had moved by the kill), and the burst of connections held up the nodes' renewals.
    ///
    /// # Panics
    /// When Postgres cannot be reached.
    #[must_use]
    pub fn owners(&self, sessions: &[&str]) -> Vec<Option<usize>> {
        let mut c = postgres::Client::connect(&self.database, postgres::NoTls).unwrap();
        let rows = c.query("SELECT session, node FROM leases WHERE session = ANY($1)", &[&sessions]).unwrap();
        let by_session: std::collections::HashMap<String, String> =
            rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, String>(1))).collect();
        sessions
            .iter()
            .map(|s| by_session.get(*s).and_then(|node| self.nodes.iter().position(|n| &n.name == node)))
            .collect()
    }

    /// The node that owns `session` once the proxy has settled: the same owner for a second (the
    /// proxy checks every 200 ms and marks a node down at the second failed check). A node that
    /// comes back takes a session of its share back from the node that held it meanwhile once a
    /// member of it reaches the node.
    ///
    /// # Panics
    /// When no owner holds for a second within 10 s.
    #[must_use]
    pub fn settled_owner(&self, session: &str) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = (self.owner(session), Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let now = self.owner(session);
            if now != seen.0 {
                seen = (now, Instant::now());
            } else if let Some(o) = now.filter(|_| seen.1.elapsed() >= Duration::from_secs(1)) {
                return o;
            }
            assert!(Instant::now() < deadline, "the owner of {session} did not settle in 10 s (last {now:?})");
        }
    }

    /// An organizer token, through `bandsync admin token create --database`.
    ///
    /// # Panics
    /// When the command fails.
    #[must_use]
    pub fn token(&self, organizer: &str, quota: u32) -> String {
        let q = quota.to_string();
        let (code, out) =
            run(&["admin", "token", "create", organizer, "--quota", &q, "--database", &self.database, "--json"], "");
        assert_eq!(code, 0, "{out}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// Each node's process id, while it runs.
    #[must_use]
    pub fn node_pids(&self) -> Vec<Option<u32>> {
        self.nodes.iter().map(|n| n.proc.as_ref().map(Proc::pid)).collect()
    }

    /// Where its files are.
    #[must_use]
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill9(i);
        }
        let _ = self.proxy.kill();
        let _ = self.proxy.wait();
    }
}

/// Each node's status as the proxy sees it (`UP`, `DOWN`, `DOWN 1/2` while it rises…), from its
/// stats socket's `show stat`; empty while the socket does not answer yet.
fn proxy_status(socket: &std::path::Path) -> Vec<(String, String)> {
    use std::io::{Read, Write};
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(socket) else { return Vec::new() };
    let mut csv = String::new();
    if s.write_all(b"show stat\n").is_err() || s.read_to_string(&mut csv).is_err() {
        return Vec::new();
    }
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().trim_start_matches("# ").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(px), Some(sv), Some(st)) = (col("pxname"), col("svname"), col("status")) else { return Vec::new() };
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > st && f[px] == "nodes" && f[sv] != "BACKEND")
        .map(|f| (f[sv].to_owned(), f[st].to_owned()))
        .collect()
}
