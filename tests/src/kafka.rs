//! A real Apache Kafka broker (KRaft, broker and controller in one JVM) for the tests, and a
//! runner for small Java programs against the Kafka client jars.
//!
//! The broker's jars come from Maven Central through `tests/kafka/pom.xml` into
//! `$EDDY_KAFKA_HOME/lib` (`./dev test` fetches them; [`kafka_home`] does too when they are
//! missing). A broker that cannot start is an error with its log, never a silent skip.

use std::collections::hash_map::DefaultHasher;
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

/// Where the broker's jars go when `EDDY_KAFKA_HOME` is not set.
const DEFAULT_KAFKA_HOME: &str = "/var/cache/eddy/kafka-4.1.1";

/// The jar whose presence says that `lib` holds a complete fetch.
const BROKER_JAR: &str = "kafka_2.13-4.1.1.jar";

/// The cluster id every test broker is formatted with; brokers never meet, so one id is enough.
const CLUSTER_ID: &str = "4L6g3nShT-eMCtK--X86sw";

/// What the broker logs once it serves clients. Not `Transition from STARTING to STARTED`:
/// that line was seen from a broker whose client listener then failed to bind.
const STARTED_LINE: &str = "[KafkaRaftServer nodeId=1] Kafka Server started";

/// How long a broker may take to start, and to stop before it is killed.
const START_TIMEOUT: Duration = Duration::from_secs(90);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The directory holding the broker's jars in `lib/`: `$EDDY_KAFKA_HOME`, or
/// `/var/cache/eddy/kafka-4.1.1`. When `lib/` lacks the broker jar, fetches the jars with
/// Maven; panics with what to install when that fails.
pub fn kafka_home() -> PathBuf {
    let home = std::env::var_os("EDDY_KAFKA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KAFKA_HOME));
    if !home.join("lib").join(BROKER_JAR).exists() {
        fetch_jars(&home).unwrap_or_else(|error| {
            panic!(
                "the Kafka broker jars are missing from {}/lib and could not be fetched \
                 (install maven and a JDK, or run `./dev test`): {error:#}",
                home.display()
            )
        });
    }
    home
}

/// Fetches the jars of `tests/kafka/pom.xml` into `home/lib`, through a directory of this
/// call's own so that concurrent fetches never see half a `lib/`.
fn fetch_jars(home: &Path) -> Result<()> {
    let pom = crate::manifest_dir().join("kafka/pom.xml");
    fs::create_dir_all(home).with_context(|| format!("cannot create {}", home.display()))?;
    let partial = tempfile::Builder::new()
        .prefix("lib.partial-")
        .tempdir_in(home)?;
    let output = Command::new("mvn")
        .args(["-q", "-B", "-f"])
        .arg(&pom)
        .arg("dependency:copy-dependencies")
        .arg(format!("-DoutputDirectory={}", partial.path().display()))
        .output()
        .context("cannot run mvn")?;
    if !output.status.success() {
        bail!(
            "mvn failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Another test may have completed `lib/` meanwhile; its copy is as good as ours.
    let partial = partial.keep();
    if fs::rename(&partial, home.join("lib")).is_err() {
        fs::remove_dir_all(&partial)?;
    }
    if !home.join("lib").join(BROKER_JAR).exists() {
        bail!(
            "mvn succeeded but {BROKER_JAR} is not in {}/lib",
            home.display()
        );
    }
    Ok(())
}

/// The `-cp` argument that puts every jar of `lib/` (and `extra`, if any) on the class path.
fn class_path(extra: Option<&Path>) -> String {
    let mut path = format!("{}/lib/*", kafka_home().display());
    if let Some(extra) = extra {
        path = format!("{}:{path}", extra.display());
    }
    path
}

/// Runs `java -cp LIB CLASS ARGS...` to completion; returns its stdout, or an error with its
/// stderr when it fails.
fn run_java(extra_class_path: Option<&Path>, class: &str, args: &[&str]) -> Result<String> {
    let output = Command::new("java")
        .arg("-cp")
        .arg(class_path(extra_class_path))
        .arg(class)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run java (install a JDK 17 or later, or run `./dev test`)")?;
    if !output.status.success() {
        bail!(
            "java {class} {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Compiles the Java file `source` against the Kafka jars (once per content; classes are
/// cached under `kafka_home()/classes`) and runs its `class` with `args`. Returns the
/// program's stdout; fails with its stderr when it exits with an error.
pub fn java_tool(source: &Path, class: &str, args: &[&str]) -> Result<String> {
    let text = fs::read(source).with_context(|| format!("cannot read {}", source.display()))?;
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    let stem = source
        .file_stem()
        .and_then(|stem| stem.to_str())
        .context("the Java source has a file name")?;
    let cache = kafka_home().join("classes");
    let classes = cache.join(format!("{stem}-{:016x}", hasher.finish()));
    if !classes.exists() {
        fs::create_dir_all(&cache)?;
        let partial = tempfile::tempdir_in(&cache)?;
        let output = Command::new("javac")
            .arg("-cp")
            .arg(class_path(None))
            .arg("-d")
            .arg(partial.path())
            .arg(source)
            .output()
            .context("cannot run javac (install a JDK 17 or later, or run `./dev test`)")?;
        if !output.status.success() {
            bail!(
                "javac {} failed:\n{}{}",
                source.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        // A concurrent compile of the same source may have won; its classes are the same.
        let partial = partial.keep();
        if fs::rename(&partial, &classes).is_err() {
            fs::remove_dir_all(&partial)?;
        }
    }
    run_java(Some(&classes), class, args)
}

/// A single-node Kafka broker (KRaft, combined broker and controller) on loopback ports, with
/// its data, configuration and log in a temporary directory.
///
/// Dropping it kills the broker's process group, so a failing test never leaves a broker
/// running; a watchdog process does so when the test process dies without dropping it.
pub struct KafkaBroker {
    directory: TempDir,
    broker_port: u16,
    controller_port: u16,
    process: Option<BrokerProcess>,
}

impl KafkaBroker {
    /// Formats and starts a broker on free ports; returns once it serves clients. Fails with
    /// the errors and the tail of the broker's log when it exits or does not start within 90
    /// seconds (a port taken meanwhile is retried twice on new ports).
    pub fn start() -> Result<KafkaBroker> {
        // Another process may take a port between our probe and the broker's bind: retry then.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut broker = KafkaBroker::format()?;
            match broker.launch() {
                Ok(()) => return Ok(broker),
                Err(error)
                    if attempt < 3 && format!("{error:#}").contains("Address already in use") =>
                {
                    eprintln!("kafka broker: a port was taken, retrying: {error:#}");
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Picks the ports, writes `server.properties` and formats the data directory.
    fn format() -> Result<KafkaBroker> {
        let directory = tempfile::Builder::new().prefix("eddy-kafka-").tempdir()?;
        let (broker_port, controller_port) = free_ports()?;
        let data = directory.path().join("data");
        // A broker killed without a clean shutdown can register again only once the session of
        // its previous incarnation expires: a 4 s session (not 9 s) makes restarts after
        // `kill` quicker. Test records carry timestamps from 1970 (as ksqlDB's own test cases
        // do): with time-based retention the broker would delete them within minutes.
        let properties = format!(
            "process.roles=broker,controller\n\
             node.id=1\n\
             controller.quorum.voters=1@127.0.0.1:{controller_port}\n\
             listeners=PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}\n\
             advertised.listeners=PLAINTEXT://127.0.0.1:{broker_port}\n\
             controller.listener.names=CONTROLLER\n\
             listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
             log.dirs={}\n\
             offsets.topic.replication.factor=1\n\
             transaction.state.log.replication.factor=1\n\
             transaction.state.log.min.isr=1\n\
             group.initial.rebalance.delay.ms=0\n\
             num.partitions=1\n\
             log.retention.ms=-1\n\
             broker.heartbeat.interval.ms=1000\n\
             broker.session.timeout.ms=4000\n",
            data.display()
        );
        let config = directory.path().join("server.properties");
        fs::write(&config, properties)?;
        let config = config
            .to_str()
            .context("the temporary directory is UTF-8")?;
        run_java(
            None,
            "kafka.tools.StorageTool",
            &["format", "-t", CLUSTER_ID, "-c", config],
        )
        .context("cannot format the Kafka data directory")?;
        Ok(KafkaBroker {
            directory,
            broker_port,
            controller_port,
            process: None,
        })
    }

    /// Spawns the broker JVM in a process group of its own and waits for it to serve clients.
    fn launch(&mut self) -> Result<()> {
        let log_path = self.log_path();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        // Only a STARTED line written by this launch counts.
        let log_start = log.metadata()?.len();
        let mut command = Command::new("java");
        command
            .args([
                "-Xmx512m",
                "-XX:+UseSerialGC",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                "-cp",
            ])
            .arg(class_path(None))
            .arg("kafka.Kafka")
            .arg(self.directory.path().join("server.properties"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let process = self
            .process
            .insert(BrokerProcess::spawn(&mut command, self.directory.path())?);
        let started = Instant::now();
        loop {
            if read_from(&log_path, log_start)?.contains(STARTED_LINE) {
                return Ok(());
            }
            if let Some(status) = process.jvm.try_wait()? {
                self.kill();
                bail!(
                    "the Kafka broker exited ({status}) before it started\n{}",
                    self.failure_report(log_start)
                );
            }
            if started.elapsed() > START_TIMEOUT {
                self.kill();
                bail!(
                    "the Kafka broker did not start within {START_TIMEOUT:?}\n{}",
                    self.failure_report(log_start)
                );
            }
            std::thread::park_timeout(Duration::from_millis(50));
        }
    }

    /// The address clients connect to: `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.broker_port)
    }

    /// Stops the broker cleanly (SIGTERM), killing it when it has not exited within 30
    /// seconds. Does nothing when it is not running.
    pub fn stop(&mut self) {
        let Some(process) = self.process.as_mut() else {
            return;
        };
        signal(&process.jvm.id().to_string(), "TERM");
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if !matches!(process.jvm.try_wait(), Ok(None)) {
                break;
            }
            std::thread::park_timeout(Duration::from_millis(50));
        }
        if started.elapsed() >= STOP_TIMEOUT {
            eprintln!("kafka broker: no exit {STOP_TIMEOUT:?} after SIGTERM, killing it");
        }
        self.kill();
    }

    /// Kills the broker at once (SIGKILL to its process group), like a crash. Does nothing
    /// when it is not running.
    pub fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill();
        }
    }

    /// Starts the broker again (stopping it first if it runs) on the same ports and data
    /// directory; returns once it serves clients. Topics and records survive a restart.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.launch()
    }

    /// Creates `name` with `partitions` partitions (replication factor 1) with Kafka's
    /// `kafka-topics` tool; returns once the controller has created it.
    pub fn create_topic(&self, name: &str, partitions: u32) -> Result<()> {
        let partitions = partitions.to_string();
        self.topic_command(&[
            "--create",
            "--topic",
            name,
            "--partitions",
            &partitions,
            "--replication-factor",
            "1",
        ])
        .with_context(|| format!("cannot create topic \"{name}\""))?;
        Ok(())
    }

    /// The names of the broker's topics, sorted, internal ones excluded, from `kafka-topics`.
    pub fn list_topics(&self) -> Result<Vec<String>> {
        let output = self.topic_command(&["--list", "--exclude-internal"])?;
        let mut topics: Vec<String> = output.lines().map(str::to_owned).collect();
        topics.sort();
        Ok(topics)
    }

    /// Runs Kafka's `kafka-topics` tool against this broker.
    fn topic_command(&self, args: &[&str]) -> Result<String> {
        let bootstrap = self.bootstrap();
        let mut all = vec!["--bootstrap-server", bootstrap.as_str()];
        all.extend_from_slice(args);
        run_java(None, "org.apache.kafka.tools.TopicCommand", &all)
    }

    /// The last `lines` lines of the broker's log (stdout and stderr of every launch).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = read_from(&self.log_path(), 0).unwrap_or_else(|error| error.to_string());
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The errors that the broker logged since byte `log_start` (their first lines: the cause
    /// of a failed start is often followed by pages of shutdown), then the last 40 lines.
    fn failure_report(&self, log_start: u64) -> String {
        let text = read_from(&self.log_path(), log_start).unwrap_or_else(|error| error.to_string());
        let errors: Vec<&str> = text
            .lines()
            .filter(|line| {
                line.contains(" ERROR ")
                    || line.contains(" FATAL ")
                    || line.starts_with("Caused by:")
            })
            .take(20)
            .collect();
        format!(
            "errors in the broker log:\n{}\nlog tail:\n{}",
            errors.join("\n"),
            self.log_tail(40)
        )
    }

    fn log_path(&self) -> PathBuf {
        self.directory.path().join("broker.log")
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

impl std::fmt::Debug for KafkaBroker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KafkaBroker")
            .field("bootstrap", &self.bootstrap())
            .field("controller_port", &self.controller_port)
            .field("directory", &self.directory.path())
            .field("running", &self.process.is_some())
            .finish()
    }
}

/// The broker JVM, leader of a process group of its own, and a watchdog (`sh`) that kills
/// that group and deletes the broker's directory once its stdin, a pipe only the test process
/// holds, closes: when the test process exits, even by SIGKILL or Ctrl-C, which never run
/// `Drop`.
struct BrokerProcess {
    jvm: Child,
    watchdog: Child,
}

impl BrokerProcess {
    fn spawn(jvm: &mut Command, directory: &Path) -> Result<BrokerProcess> {
        let mut jvm = jvm
            .process_group(0)
            .spawn()
            .context("cannot run java (install a JDK 17 or later, or run `./dev test`)")?;
        let watchdog = Command::new("sh")
            .arg("-c")
            // Ctrl-C signals the watchdog's process group too: it must outlive the test.
            // (dash's `kill` takes no `--`; `-PID` is the process group.)
            .arg(format!(
                "trap '' INT TERM HUP; read line; kill -KILL -{}; rm -rf '{}'",
                jvm.id(),
                directory.display()
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match watchdog {
            Ok(watchdog) => Ok(BrokerProcess { jvm, watchdog }),
            Err(error) => {
                signal(&format!("-{}", jvm.id()), "KILL");
                let _ = jvm.wait();
                Err(error).context("cannot run sh for the broker's watchdog")
            }
        }
    }

    /// Kills the JVM's process group unless the JVM has been reaped already (its group id
    /// could be reused then), then the watchdog without letting it act, and reaps both.
    fn kill(mut self) {
        if matches!(self.jvm.try_wait(), Ok(None)) {
            signal(&format!("-{}", self.jvm.id()), "KILL");
            // It cannot outlive SIGKILL; an error means it is reaped already.
            let _ = self.jvm.wait();
        }
        signal(&self.watchdog.id().to_string(), "KILL");
        let _ = self.watchdog.wait();
    }
}

/// Two distinct free loopback ports: both are bound to port 0 at once, read, then released.
fn free_ports() -> Result<(u16, u16)> {
    let first = TcpListener::bind("127.0.0.1:0")?;
    let second = TcpListener::bind("127.0.0.1:0")?;
    Ok((first.local_addr()?.port(), second.local_addr()?.port()))
}

/// Sends `SIGNAL` to `target` (a pid, or `-PGID` for a process group) with `kill`.
fn signal(target: &str, signal: &str) {
    // The process may have exited already; then there is nothing to signal.
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(target)
        .stderr(Stdio::null())
        .status();
}

/// The text of `path` from byte `offset` on (lossily decoded).
fn read_from(path: &Path, offset: u64) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
